"""The CLI's hot path through a warm daemon stays light: no heavy modules imported."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import swamp_command, swampd_command

HEAVY = ("textual", "boto3", "botocore", "psycopg", "jsonschema", "jsonrpcserver", "keyring", "anyio")


def imported_modules(args: list[str], env: dict[str, str], cwd: str, program: list[str] | None = None) -> set[str]:
    cmd = program or swamp_command()
    if cmd[0] != sys.executable:
        cmd = [sys.executable, *cmd]
    result = subprocess.run([sys.executable, "-X", "importtime", *cmd[1:], *args], env=env, cwd=cwd,
                            capture_output=True, text=True, timeout=60)
    modules = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            modules.add(name)
    assert modules, result.stderr
    return modules


def heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in HEAVY}


def test_swamp_rpc_imports_nothing_heavy(daemon, daemon_env, tmp_path):
    modules = imported_modules(["rpc", "daemon.hello"], daemon_env, str(tmp_path))
    assert "swampd.client" in modules
    assert heavy(modules) == set()
    assert "json" not in modules and "socket" not in modules  # the C accelerators suffice


def test_swampd_data_get_imports_nothing_heavy(daemon, daemon_env, tmp_path):
    repo = tmp_path / "repo"
    (repo / ".swamp").mkdir(parents=True)
    modules = imported_modules(["data", "get", "--repo", str(repo), "command/shell", "m", "result"],
                               daemon_env, str(tmp_path), swampd_command())
    assert "cli.commands.data" in modules
    assert heavy(modules) == set()


def test_the_fronts_accelerated_read_imports_no_argparse_and_no_command_table(daemon, daemon_env, tmp_path):
    """`swamp data get ...` through the front: the classifier and one call; swamp's bytes come back
    from the daemon (an unknown repo here: the call passes, the import set is the same)."""
    env = {**daemon_env, "SWAMPD_SWAMP_EXECUTABLE": "/bin/true"}
    modules = imported_modules(["data", "get", "m", "n", "--json"], env, str(tmp_path))
    assert "cli.front_answer" in modules and "swampd.client" in modules
    assert heavy(modules) == set()
    assert not {"argparse", "json", "socket", "typing", "cli.commands", "cli.native", "swampd.front.service",
                "yaml"} & modules


def test_swampds_own_common_commands_skip_argparse_and_the_command_table(daemon, daemon_env, tmp_path):
    for words in (["cache", "stats", "--json"], ["daemon", "status", "--json"]):
        modules = imported_modules(words, daemon_env, str(tmp_path))
        assert f"cli.commands.{words[0]}" in modules
        assert not {"argparse", "pkgutil", "typing", "json", "socket", "cli.commands.data",
                    "cli.commands.vault"} & modules, words
        assert heavy(modules) == set()
