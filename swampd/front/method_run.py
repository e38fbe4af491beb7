"""`swamp model method run ...` through the daemon's coalescer: identical concurrent runs execute once.

The front sends its whole command line, cwd and environment. The daemon runs the real swamp with
exactly those (stdin empty) as a `swamp_cli` job; every caller of an identical run gets that one
execution's stdout and stderr, live, and its exit code.

Identical means: the same real swamp, cwd, argv (in order) and environment, except variables that
only name the calling process or its terminal (VOLATILE_ENV), and the same content of the files
the line names (`--input-file F`, `--input k=@F`). Runs from a terminal (any of stdin, stdout,
stderr a tty), with `--stdin`, or through `--server` go to the real swamp directly, and so does
everything when `[front] dedupe_runs = false` or `SWAMPD_FRONT_DEDUPE=0`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any

from swampd.front.argv import parse
from swampd.front.call import Call, Pass
from swampd.front.repo import repo_dir
from swampd.swamp_binary import SwampBinaryError, configured_name, find_real_swamp

PATH = ("model", "method", "run")
VALUE_OPTIONS = frozenset({"--repo-dir", "--input-file", "--timeout", "--traceparent", "--tracestate"})
COLLECT_OPTIONS = frozenset({"--input", "--arg", "--tag", "--skip-check", "--skip-check-label", "--skip-report",
                             "--skip-report-label", "--report", "--report-label"})
FLAG_OPTIONS = frozenset({"--last-evaluated", "--skip-checks", "--skip-reports"})
"""`--stdin`, `--server` and `--token` are not here: those lines go to the real swamp."""

VOLATILE_ENV = frozenset({
    "PWD", "OLDPWD", "SHLVL", "_", "TERM_SESSION_ID", "WINDOWID", "SSH_TTY", "GPG_TTY", "TMUX_PANE", "STY",
    "XDG_SESSION_ID", "XDG_VTNR", "SWAMPD_JOB_ID",
})
"""Variables that differ between callers without changing what a run does."""

SCOPED_NAME = re.compile(r"^@[a-zA-Z][a-zA-Z0-9_-]*/[a-zA-Z0-9][a-zA-Z0-9_/-]*$")


def plan(argv: list[str], cwd: str, env: dict[str, str], ttys: list[bool], config_file: str) -> dict[str, Any]:
    """The swamp_cli job spec for this line (its `identity` is the dedupe rule); Pass when not run here."""
    if any(ttys):
        raise Pass("terminal")
    if env.get("SWAMP_SERVE_URL"):
        raise Pass("remote")
    parsed = parse(argv, PATH, VALUE_OPTIONS, FLAG_OPTIONS, COLLECT_OPTIONS)
    if parsed is None:
        raise Pass("argv")
    positionals = parsed.positionals
    if len(positionals) not in (2, 3) or (len(positionals) == 3 and not positionals[0].startswith("@")):
        raise Pass("arguments")
    call = Call(parsed, cwd, env, ttys)
    try:
        executable = find_real_swamp(configured_name(env, config_file), env.get("PATH", ""))
    except SwampBinaryError:
        raise Pass("no_swamp") from None
    model = positionals[2] if len(positionals) == 3 else positionals[0]
    files = {path: _digest(os.path.join(cwd, path)) for path in _named_files(parsed)}
    material = {
        "executable": executable, "cwd": cwd, "argv": argv, "files": files,
        "env": sorted((k, v) for k, v in env.items() if k not in VOLATILE_ENV),
    }
    identity = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
    return {"argv": argv, "cwd": cwd, "env": env, "executable": executable, "repo": repo_dir(call),
            "model": model, "method": positionals[1], "identity": identity}


def _named_files(parsed: Any) -> list[str]:
    files = []
    if isinstance(parsed.options.get("--input-file"), str):
        files.append(parsed.options["--input-file"])
    for value in parsed.collected.get("--input", []) + parsed.collected.get("--arg", []):
        _, sep, text = value.partition("=")
        if sep and text.startswith("@") and not SCOPED_NAME.match(text):
            files.append(text[1:])
    return files


def _digest(path: str) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        return f"unreadable:{exc.errno}"
    return digest.hexdigest()
