"""The shell launcher `swamp daemon install-front` writes: Python only for what the Python front
answers itself, every other command line straight to the real swamp (cli/front_launcher.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cli.accelerated import runner_for
from cli.front_launcher import render
from cli.main import SWAMPD_COMMANDS
from swampd.front.argv import command_path

WORDS = ["data", "get", "list", "versions", "query", "model", "method", "run", "create", "vault", "read-secret",
         "list-keys", "help", "dash", "daemon", "top", "workflow", "x", "", "-", "--", "--json", "-q", "--log",
         "--log-level", "--log-level=debug", "debug", "--no-daemon", "--input", "a=b", "-h", "--help", "--version",
         "data get", "data/get", "*", "$HOME"]


def python_answers(argv: list[str]) -> bool:
    """What cli.main does before it would exec the real swamp: True when it answers itself."""
    path = command_path(argv)
    if path and path[0] in SWAMPD_COMMANDS:
        return True
    if not argv or path[:1] == ["help"] or "-h" in argv or "--help" in argv:
        return True
    return len(path) >= 2 and runner_for(path) is not None


def stub(path: Path, text: str) -> Path:
    path.write_text(f"#!/bin/sh\n{text}\n")
    path.chmod(0o755)
    return path


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A launcher whose `python` is a stub saying so, and a stand-in real swamp saying so."""
    base = tmp_path_factory.mktemp("launcher")
    for name in ("bin", "real", "home", "sd", "console"):
        (base / name).mkdir()
    python = stub(base / "python", 'shift 4; echo python "$@"')  # after -I -S -c CODE
    launcher = base / "bin" / "swamp"
    launcher.write_text(render(str(python), ["/nowhere"], []))
    launcher.chmod(0o755)
    stub(base / "real" / "swamp", 'echo real "$@"')
    # swampd's pip console script, also on PATH: a swampd front, never taken for the real swamp
    stub(base / "console" / "swamp", "# from cli.main import main\necho console")
    return {"base": base, "launcher": launcher}


def launch(layout: dict[str, Path], argv: list[str], **env: str) -> str:
    base = layout["base"]
    full = {"PATH": os.pathsep.join([str(base / "bin"), str(base / "console"), str(base / "real"), "/usr/bin",
                                     "/bin"]),
            "HOME": str(base / "home"), "SWAMPD_HOME": str(base / "sd"), **env}
    done = subprocess.run([str(layout["launcher"]), *argv], env=full, capture_output=True, text=True, timeout=30,
                          cwd=base)
    assert done.returncode == 0 and done.stderr == "", done
    return done.stdout


@pytest.mark.parametrize("argv", [
    [], ["--version"], ["--help"], ["help"], ["data", "get", "m", "n"], ["--json", "data", "list", "m"],
    ["--log-level", "debug", "model", "get", "m"], ["--log-level", "model", "get"], ["data", "put", "m"],
    ["model", "method", "run", "m", "execute"], ["model", "method", "describe"], ["model", "create", "t", "n"],
    ["vault", "read-secret", "v", "k"], ["vault", "get", "v"], ["dash"], ["--json", "daemon", "status"],
    ["workflow", "run", "w", "--input", "data=get"], ["--input", "data", "get"], ["workflow", "list", "-h"],
])
def test_launcher_starts_python_exactly_when_the_python_front_answers_itself(
    layout: dict[str, Path], argv: list[str]
) -> None:
    out = launch(layout, argv)
    expected = "python" if python_answers(argv) else "real"
    assert out == " ".join([expected, *argv]) + "\n"


@settings(max_examples=120, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=6))
def test_launcher_and_python_front_agree_on_any_command_line(layout: dict[str, Path], argv: list[str]) -> None:
    assert launch(layout, argv).split(" ", 1)[0].strip() == ("python" if python_answers(argv) else "real")


def test_launcher_leaves_to_python_whatever_it_cannot_decide(layout: dict[str, Path]) -> None:
    base = layout["base"]
    cases = [
        {"SWAMPD_HOME": "relative/dir"},                       # Python refuses it, with its message
        {"SWAMPD_RUNTIME_DIR": "run"},
        {"SWAMPD_HOME": "/" + "d" * 120},                      # a socket path too long
        {"SWAMPD_SWAMP_EXECUTABLE": str(layout["launcher"])},  # the front itself: Python refuses it
        {"SWAMPD_SWAMP_EXECUTABLE": "~/swamp"},
        {"SWAMPD_SWAMP_EXECUTABLE": "no-such-swamp"},          # not found: Python says how to install
        {"PATH": "/usr/bin:/bin"},
    ]
    for env in cases:
        assert launch(layout, ["--version"], **env) == "python --version\n", env
    config = base / "sd" / "config.toml"
    config.write_text('[jobs]\nswamp_executable = "/opt/swamp"\n')
    try:
        assert launch(layout, ["--version"]) == "python --version\n"
        config.write_text("[front]\naccelerate = false\n")
        assert launch(layout, ["--version"]) == "real --version\n"
    finally:
        config.unlink()
    # a configured path or name it can check itself it takes as Python would
    assert launch(layout, ["x"], SWAMPD_SWAMP_EXECUTABLE=str(base / "real" / "swamp")) == "real x\n"
    assert launch(layout, ["x"], SWAMPD_SWAMP_EXECUTABLE="/bin/echo") == "x\n"


def test_launcher_counts_a_passed_through_call_only_where_the_daemon_counts(layout: dict[str, Path]) -> None:
    run_dir = layout["base"] / "sd" / "run"
    run_dir.mkdir(exist_ok=True)
    calls = run_dir / "front.calls"
    launch(layout, ["--version"])
    assert not calls.exists()  # no daemon has started counting: nothing created
    calls.write_bytes(b"")
    launch(layout, ["--version"])
    launch(layout, ["workflow", "list"])
    assert calls.read_bytes() == b"pp"
    calls.unlink()
