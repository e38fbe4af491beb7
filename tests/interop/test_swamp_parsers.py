"""swampd's copies of swamp's small pure functions, checked against the originals in swamp's source."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cli.commands.run import _human_result, format_duration, parse_inputs
from cli.commands.vault import _split_inline


def _swampd_parse(entries: list[str]) -> dict[str, Any]:
    try:
        return {"ok": parse_inputs(entries)}
    except SystemExit as exc:
        return {"error": str(exc)}


def test_run_inputs_parse_as_swamps_parse_inputs(real_swamp, tmp_path: Path, monkeypatch) -> None:
    """`swamp run --input ...` means what it means to swamp (src/cli/input_parser.ts `parseInputs`)."""
    monkeypatch.setenv("HOME", str(real_swamp.home))
    secret = tmp_path / "file.txt"
    secret.write_text("from-a-file\n")
    (real_swamp.home / "in-home.txt").write_text("tilde")
    cases = [
        ["msg=hello"],
        ["msg=@" + str(secret)],                   # a file reference: the file's text
        ["msg=\\@" + str(secret)],                 # escaped: the literal text
        ["scope=@swamp/aws/ec2"],                  # a scoped name is not a file
        ["home=@~/in-home.txt"],
        ["server.host=localhost", "server.port:json=8080"],
        ["a.b.c=1", "a.b=2"],                      # a later scalar replaces the object
        ["a=1", "a.b=2"],                          # a later dotted key replaces the scalar
        ["list:json=[1,\"x\",null]", "obj.deep:json={\"k\":true}"],
        ["eq=a=b=c"],                              # split at the first '=' only
        ['{"msg": "@/etc/hostname", "n": 1.5, "a.b": [1]}'],  # JSON mode: literal
        ["  {\"x\": 1}"],
        ["k:json=not json"],
        ["novalue"],
        ["=v"],
        ["missing=@" + str(tmp_path / "nope")],
        ["x:json="],
        [":json=1"],
    ]
    theirs = real_swamp.call("src/cli/input_parser.ts", [("parseInputs", [{"input": c}]) for c in cases])
    for entries, swamp in zip(cases, theirs, strict=True):
        ours = _swampd_parse(entries)
        if "error" in swamp:
            assert "error" in ours, (entries, swamp, ours)
        else:
            assert ours == {"ok": swamp["ok"]["inputs"]}, entries


def test_duration_prints_as_swamps_format_duration(real_swamp) -> None:
    """issue 10 #7: `duration` is milliseconds, printed as swamp prints it (was: `44 s` for 44 ms)."""
    values = [0, 1, 42, 999, 1000, 1049, 1050, 1250, 1350, 59949, 59950, 59999, 60000, 61499, 61500,
              119500, 125400, 3599500, 3600000, 86400000]
    theirs = real_swamp.call("src/presentation/output/console_writer.ts", [("formatDuration", [v]) for v in values])
    assert [format_duration(v) for v in values] == [t["ok"] for t in theirs]
    line = _human_result({"modelName": "m", "methodName": "x", "status": "succeeded", "duration": 44,
                          "outputId": "o", "dataArtifacts": []})
    assert "in 44ms" in line and " s " not in line


def test_vault_inline_form_splits_as_swamps_parse_key_value(real_swamp) -> None:
    arguments = ["API_KEY=sk-1", "K=a=b", "K=", "PLAIN", "=v", "K=\n"]
    theirs = real_swamp.call("src/cli/commands/vault_put.ts", [("parseKeyValue", [a]) for a in arguments])
    for argument, swamp in zip(arguments, theirs, strict=True):
        key, value = _split_inline(argparse.Namespace(key=argument))
        if swamp["ok"] is None:  # swamp: no inline form (no '=', or nothing before it)
            assert value is None or key == "", argument
        else:
            assert (key, value) == (swamp["ok"]["key"], swamp["ok"]["value"]), argument
