"""The two programs: `swamp` is swamp (plus swampd's additions under names swamp does not have);
`swampd` is the daemon and every swampd command. Passing through is an exec of the real swamp."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cli.main import SWAMPD_COMMANDS
from cli.native import commands_for
from tests.conftest import BIN_DIR, REAL_SWAMP, swamp_command, swampd_command

from .conftest import front_path

SWAMP_TOP_LEVEL = frozenset({
    "access", "version", "model", "init", "repo", "workflow", "vault", "data", "telemetry", "audit", "update",
    "config", "source", "completions", "issue", "auth", "extension", "summarise", "summarize", "datastore",
    "doctor", "run", "report", "serve", "agent", "worker", "quest", "help",
})
"""swamp's top-level commands (src/cli/mod.ts; `test_help_*` checks them against the real swamp)."""

PROBE = """#!{python}
import json, os, sys
print(json.dumps({{"argv": sys.argv[1:], "pid": os.getpid(), "cwd": os.getcwd(),
                  "probe": os.environ.get("PROBE_VALUE"), "stdin": sys.stdin.read()}}))
sys.exit(int(os.environ.get("PROBE_EXIT", "0")))
"""


def run(cmd: list[str], env: dict[str, str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, **kwargs)


def test_swamp_keeps_only_names_swamp_does_not_have() -> None:
    under_swamp = set(commands_for("swamp"))
    assert SWAMPD_COMMANDS == under_swamp | {"rpc"}
    assert not SWAMPD_COMMANDS & SWAMP_TOP_LEVEL
    assert set(commands_for("swampd")) >= under_swamp | {"data", "vault", "config", "repo", "run", "version", "ext"}


def test_swampd_takes_every_command_and_stays_the_daemon(daemon_env: dict[str, str]) -> None:
    listing = run([*swampd_command(), "--help"], daemon_env)
    assert listing.returncode == 0
    for name in ("--foreground", "--stdio", "data", "vault", "config", "repo", "run", "version", "ext", "dash"):
        assert name in listing.stdout
    version = run([*swampd_command(), "--json", "version"], daemon_env)
    assert json.loads(version.stdout)["protocol"] == 1
    assert run([*swampd_command(), "--version"], daemon_env).stdout.startswith("swampd 0.1.0")
    # swampd's own `data` is not reachable as `swamp data`: that is swamp's
    assert "swampd data" not in run([*swampd_command(), "data", "--help"], daemon_env).stdout.replace(
        "usage: swampd data", "")


def test_no_real_swamp_says_how_to_install_it(daemon_env: dict[str, str], tmp_path: Path,
                                              any_front: list[str]) -> None:
    env = {**daemon_env, "PATH": os.pathsep.join([str(BIN_DIR), "/usr/bin", "/bin"])}
    for argv in (["data", "list", "m"], ["workflow", "list"]):
        result = run([*any_front, *argv], env, cwd=tmp_path)
        assert result.returncode == 127
        assert "install swamp" in result.stderr and "SWAMPD_SWAMP_EXECUTABLE" in result.stderr
        assert result.stdout == ""
    ours = {**env, "SWAMPD_SWAMP_EXECUTABLE": str(BIN_DIR / "swamp")}
    refused = run([*any_front, "--version"], ours)
    assert refused.returncode == 127 and "front end, not the swamp CLI" in refused.stderr


def test_passing_through_is_an_exec_with_the_same_argv_env_cwd_stdin_and_exit(
    daemon_env: dict[str, str], tmp_path: Path, any_front: list[str]
) -> None:
    probe = tmp_path / "probe"
    probe.write_text(PROBE.format(python=sys.executable))
    probe.chmod(0o755)
    env = {**daemon_env, "SWAMPD_SWAMP_EXECUTABLE": str(probe), "PROBE_VALUE": "v=1", "PROBE_EXIT": "7"}
    argv = ["workflow", "run", "deploy", "--input", "a b=c", "--json", "--", "-x"]
    proc = subprocess.Popen([*any_front, *argv], env=env, cwd=tmp_path, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate("from stdin", timeout=60)
    assert proc.returncode == 7, err
    seen = json.loads(out)
    assert seen == {"argv": argv, "pid": proc.pid, "cwd": str(tmp_path), "probe": "v=1", "stdin": "from stdin"}
    assert err == ""


def test_passed_through_calls_are_counted_since_the_daemon_started(
    daemon: Any, daemon_env: dict[str, str], tmp_path: Path, any_front: list[str]
) -> None:
    probe = tmp_path / "probe"
    probe.write_text(PROBE.format(python=sys.executable))
    probe.chmod(0o755)
    env = {**daemon_env, "SWAMPD_SWAMP_EXECUTABLE": str(probe)}
    for _ in range(3):
        assert run([*any_front, "workflow", "list"], env).returncode == 0
    status = json.loads(run([*swamp_command(), "--json", "daemon", "status"], env).stdout)
    assert status["front"]["passed_through"] == 3
    assert status["front"]["real_swamp"] == str(probe)
    daemon.restart()
    status = json.loads(run([*swamp_command(), "--json", "daemon", "status"], env).stdout)
    assert status["front"]["passed_through"] == 0


def test_install_front_puts_a_launcher_before_the_real_swamp(daemon_env: dict[str, str], tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {**daemon_env, "PATH": front_path(bin_dir)}
    # not in front yet: the venv's console script comes first, the real swamp after it
    before = json.loads(run([*swamp_command(), "--json", "daemon", "status"], env).stdout)["front"]
    assert before["real_swamp"] == str(REAL_SWAMP)
    installed = run([*swamp_command(), "--json", "daemon", "install-front", "--bin-dir", str(bin_dir)], env)
    assert installed.returncode == 0, installed.stderr
    launcher = bin_dir / "swamp"
    assert json.loads(installed.stdout)["path"] == str(launcher) and os.access(launcher, os.X_OK)
    status = json.loads(run(["swamp", "--json", "daemon", "status"], env).stdout)["front"]
    assert status["in_front"] and status["swamp_on_path"] == str(launcher)
    assert status["real_swamp"] == str(REAL_SWAMP)
    # the real swamp is never overwritten
    refused = run([*swamp_command(), "daemon", "install-front", "--bin-dir", str(REAL_SWAMP.parent)], env)
    assert refused.returncode != 0 and "not swampd's front" in refused.stderr
    removed = run(["swamp", "--json", "daemon", "uninstall-front"], env)
    assert json.loads(removed.stdout) == {"removed": str(launcher)}
    assert not launcher.exists() and REAL_SWAMP.exists()


def test_each_command_module_is_named_after_its_command() -> None:
    """The runner imports only the module of the command it runs, by that name (cli.native.command_for)."""
    from cli.commands import load_commands
    from cli.native import command_for

    for name, module in load_commands().items():
        assert module.__name__ == f"cli.commands.{name}"
        assert command_for("swampd", name) is module
        assert (command_for("swamp", name) is module) == bool(getattr(module, "UNDER_SWAMP", False))
    assert command_for("swampd", "nope") is None and command_for("swampd", "__init__") is None
