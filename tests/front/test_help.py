"""`swamp --help` / `swamp help`: the real swamp's help, then one short section for swampd's additions."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cli.main import SWAMPD_COMMANDS
from tests.conftest import REAL_SWAMP, swamp_command

from .test_structure import SWAMP_TOP_LEVEL


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, timeout=120)


def test_text_help_is_swamps_plus_one_section(front_env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in front_env.items() if k != "NO_COLOR"}  # swamp colours its help: so do we
    real = _run([str(REAL_SWAMP), "--help"], env, tmp_path)
    front = _run([*swamp_command(), "--help"], env, tmp_path)
    assert front.returncode == real.returncode == 0
    assert front.stdout.startswith(real.stdout) and front.stderr == real.stderr
    section = front.stdout[len(real.stdout):].decode()
    assert "swampd additions" in section and "\x1b[94mdash\x1b[39m" in section
    assert all(name in section for name in ("rpc", "dash", "daemon", "cache", "calls", "jobs", "fleet"))


def test_schema_help_stays_json_with_a_swampd_key(front_env: dict[str, str], tmp_path: Path) -> None:
    real = json.loads(_run([str(REAL_SWAMP), "help"], front_env, tmp_path).stdout)
    front = _run([*swamp_command(), "help"], front_env, tmp_path)
    assert front.returncode == 0
    schema = json.loads(front.stdout)
    assert {k: v for k, v in schema.items() if k != "swampd"} == real
    assert [c["name"] for c in schema["swampd"]["commands"]] == ["rpc", *sorted(SWAMPD_COMMANDS - {"rpc"})]
    # the names swampd keeps under `swamp` are not swamp's
    swamp_names = {c["name"] for c in real["root"]["subcommands"]}
    assert swamp_names | {"summarize", "help"} == SWAMP_TOP_LEVEL
