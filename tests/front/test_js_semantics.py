"""The front's copies of JavaScript semantics, checked against the JavaScript swamp itself runs.

One Deno process per test (the Deno and @std packages of the installed real swamp) evaluates a
batch of inputs; the Python copies must give the same answers: JSON.parse + JSON.stringify(x,
null, 2), @std/yaml parse, TextDecoder, localeCompare, toFixed and swamp's skill constants.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from swampd.front import data_query, jsjson, jsyaml, render, repo
from tests.conftest import REAL_SWAMP

INSTALL = REAL_SWAMP.parent.parent
DENO = INSTALL / "deno-venv" / "bin" / "deno"


def deno(script: str, payload: Any, tmp_path: Path) -> Any:
    if not DENO.exists():
        pytest.fail(f"Deno of the real swamp is not installed at {DENO}: run scripts/setup --test")
    path = tmp_path / "probe.ts"
    path.write_text(script)
    done = subprocess.run([str(DENO), "run", "--quiet", "--config", str(INSTALL / "src" / "deno.json"), str(path)],
                          input=json.dumps(payload), capture_output=True, text=True, timeout=120,
                          env={**os.environ, "DENO_DIR": str(INSTALL / "deno-dir"), "NO_COLOR": "1",
                               "LANG": "C.UTF-8"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


READ = "const input = JSON.parse(await new Response(Deno.stdin.readable).text());\n"


def _random_json(rng: random.Random, depth: int = 0) -> str:
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return rng.choice(["0", "-0", "1.0", "1e21", "1e-7", "123456789012345678901", "0.1", "-2.5e-3",
                           "9007199254740993", "1E+2", "100.0", "3.14159", "5e-324", "1.7976931348623157e308"])
    if kind == 1:
        return str(rng.randint(-10**6, 10**6))
    if kind == 2:
        return repr(rng.uniform(-1e9, 1e9)).replace("inf", "1")
    if kind == 3:
        return json.dumps("".join(rng.choice('ab"\\\n\t\x01é😀 \u2028') for _ in range(rng.randrange(6))))
    if kind == 4:
        return rng.choice(["true", "false", "null"])
    if kind == 5:
        return '"\\ud800x"'  # a lone surrogate escape
    if kind in (6, 7):
        keys = rng.sample(["a", "b", "10", "2", "01", "-1", "4294967295", "4294967294", "", "z", "a"], 4)
        return "{" + ", ".join(f'{json.dumps(k)}: {_random_json(rng, depth + 1)}' for k in keys) + "}"
    return "[" + ", ".join(_random_json(rng, depth + 1) for _ in range(rng.randrange(4))) + "]"


def test_json_parse_and_stringify_match_javascript(tmp_path: Path) -> None:
    rng = random.Random(11)
    texts = [_random_json(rng) for _ in range(300)] + ["{,}", "[1,]", "NaN", " 1 ", "\ufeff1", "01", '{"a":1,"a":2}']
    script = READ + """
const out = input.map((t) => { try { return JSON.stringify(JSON.parse(t), null, 2); } catch { return null; } });
console.log(JSON.stringify(out));
"""
    expected = deno(script, texts, tmp_path)
    for text, want in zip(texts, expected, strict=True):
        try:
            got: str | None = jsjson.stringify(jsjson.parse(text))
        except jsjson.NotJson:
            got = None
        assert got == want, text


YAML_DOCS = [
    "a: yes\nb: no\nc: on\nd: off\n", "a: 010\nb: 0o10\nc: 0x1F\nd: 0b101\ne: 1_000\nf: 09\n",
    "a: 1.0\nb: 1e3\nc: .5\nd: 1.\ne: -0\nf: +12\n", "a: ~\nb: null\nc: Null\nd:\ne: NULL\nf: nil\n",
    "a: True\nb: TRUE\nc: tRue\n", "a: 2026-01-01\nb: 2026-01-01T10:00:00Z\nc: '2026-01-01'\n",
    "a: 1:30\nb: 12:30:00\n", "a: 1\na: 2\n", "- a\n- b: [1, {c: d}]\n", "k: 'x'\nl: \"y\\tz\"\nm: |\n  line\n",
    "tags:\n  type: resource\n  '10': x\n  2: y\n", "a: &x 1\nb: *x\n", "a: !!str 1\nb: !!int '7'\n",
    "createdAt: '2026-11-30T09:41:39.498Z'\nsize: 138\nstreaming: false\n", "a: 9007199254740993\n",
    "---\na: 1\n---\nb: 2\n", "{a: 1, b: [2, 3]}\n", "a: .inf\n", "a: 1_0_\n", "a: 0_7\n", "x:\n  - 1\n  -\n",
    "a: 0b\nb: 1__0\nc: -.inf\nd: 0.5e+3\ne: 12e3\nf: +.5\ng: 0x\nh: -0x_1\n", "a: 2026-1-2 3:04:05.1 +01:00\n",
    "a: <<\n", "<<: {a: 1}\nb: 2\n", "a: \"\\u00e9\"\nb: 'it''s'\n",
]


def _normalize(value: Any) -> Any:
    if isinstance(value, jsyaml.JsDate):
        return {"$date": True}
    if isinstance(value, dict):
        return {str(k): _normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def test_yaml_reads_as_swamps_std_yaml(tmp_path: Path) -> None:
    script = READ + """
import { parse } from "@std/yaml";
function norm(v) {
  if (v instanceof Date) return { $date: true };
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}
console.log(JSON.stringify(input.map((d) => { try { return { ok: norm(parse(d)) }; } catch { return { err: 1 }; } })));
"""
    expected = deno(script, YAML_DOCS, tmp_path)
    for doc, want in zip(YAML_DOCS, expected, strict=True):
        try:
            got = {"ok": _normalize(jsyaml.load(doc))}
        except jsyaml.YamlError:
            continue  # the front refuses what it is unsure of: the real swamp answers then
        assert "err" not in want, f"swamp fails on {doc!r}, the front read {got}"
        assert got == want, doc


def test_text_decoder(tmp_path: Path) -> None:
    rng = random.Random(5)
    samples = [bytes(rng.randrange(256) for _ in range(rng.randrange(12))) for _ in range(300)]
    samples += [b"\xef\xbb\xbfbom", b"\xf0\x9f\x98", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"ok"]
    script = READ + "console.log(JSON.stringify(input.map((h) => new TextDecoder().decode("\
                    "new Uint8Array(h.match(/../g)?.map((x) => parseInt(x, 16)) ?? [])))));"
    expected = deno(script, [s.hex() for s in samples], tmp_path)
    assert [jsjson.text_decode(s) for s in samples] == expected


def test_locale_compare_and_to_fixed(tmp_path: Path) -> None:
    rng = random.Random(3)
    alphabet = "aAbBzZ09-_.~ $/@"
    names = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 6))) for _ in range(400)]
    sizes = [rng.randrange(1024, 8 * 1024 * 1024) for _ in range(300)] + [2304, 1536, 1049, 1126, 1048064]
    script = READ + """
const names = [...input.names].sort((a, b) => a.localeCompare(b));
const fixed = input.sizes.map((s) => [(s / 1024).toFixed(1), (s / (1024 * 1024)).toFixed(1)]);
console.log(JSON.stringify({ names, fixed }));
"""
    expected = deno(script, {"names": names, "sizes": sizes}, tmp_path)
    assert render.locale_sorted(names) == expected["names"]
    assert [[render.to_fixed(s / 1024, 1), render.to_fixed(s / (1024 * 1024), 1)] for s in sizes] == expected["fixed"]


def test_skill_constants_are_swamps() -> None:
    src = INSTALL / "src" / "src" / "domain" / "repo"
    superseded = re.search(r"SUPERSEDED_SKILLS[^=]*=\s*\[(.*?)\]", (src / "superseded_skills.ts").read_text(), re.S)
    assert superseded is not None
    assert tuple(re.findall(r'"([^"]+)"', superseded.group(1))) == repo.SUPERSEDED_SKILLS
    dirs = re.search(r"export const SKILL_DIRS[^{]*\{(.*?)\}", (src / "skill_dirs.ts").read_text(), re.S)
    assert dirs is not None
    assert dict(re.findall(r'(\w+): "([^"]+)"', dirs.group(1))) == repo.SKILL_DIRS
    bundled = re.search(r"BUNDLED_SKILL_NAMES = \[(.*?)\]", (src / "repo_service.ts").read_text(), re.S)
    assert bundled is not None and tuple(re.findall(r'"([^"]+)"', bundled.group(1))) == repo.BUNDLED_SKILL_NAMES


def test_catalog_schema_version_is_swamps() -> None:
    store = (INSTALL / "src" / "src" / "infrastructure" / "persistence" / "catalog_store.ts").read_text()
    assert f'CATALOG_SCHEMA_VERSION = "{data_query.CATALOG_SCHEMA_VERSION}"' in store
