"""Argv building, output parsing, executable resolution, settings; the stand-in's shape."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from swampd.errors import InvalidInput, InvalidParams, NotFound
from swampd.jobs.drivers import (
    input_flags,
    is_own_console_script,
    launch,
    parse_swamp_output,
    resolve_swamp_executable,
    swamp_spec,
)
from swampd.jobs.settings import JobSettings
from swampd.jobs.states import TERMINAL, JobKind, JobState

from .conftest import FAKE_SWAMP

# reference/swamp-vault-extensions-jobs.md §3.2, `--json` result (ModelMethodRunView)
RUN_VIEW_KEYS = {"modelId", "modelName", "modelType", "methodName", "status", "duration", "outputId",
                 "logFile", "dataArtifacts", "globalArguments", "methodArguments", "initiatedBy"}
RUN_VIEW_OPTIONAL = {"reports"}
ARTIFACT_KEYS = {"id", "name", "path"}
SWAMP_ERROR_CODES = {"lock_timeout", "model_not_found", "unknown_model_type", "unknown_method",
                     "no_evaluated_definition", "missing_deps", "method_execution_failed",
                     "not_authenticated", "cancelled"}


def run_fake(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FAKE_SWAMP, *args], capture_output=True, text=True, timeout=60)


def test_stand_in_prints_the_documented_run_view() -> None:
    done = run_fake("model", "method", "run", "web", "deploy", "--json", "--input", "a=1",
                    "--input", "b:json={\"x\":[1]}")
    assert done.returncode == 0
    view = json.loads(done.stdout)
    assert RUN_VIEW_KEYS <= set(view) <= RUN_VIEW_KEYS | RUN_VIEW_OPTIONAL
    assert view["status"] in ("succeeded", "failed")
    assert view["modelName"] == "web" and view["methodName"] == "deploy"
    assert view["methodArguments"] == {"a": "1", "b": {"x": [1]}}
    assert all(ARTIFACT_KEYS <= set(a) for a in view["dataArtifacts"])
    assert isinstance(view["duration"], int | float)


def test_stand_in_errors_have_the_documented_shape() -> None:
    failed = run_fake("model", "method", "run", "web", "deploy", "--json", "--input",
                      "fail=lock_timeout")
    assert failed.returncode == 75
    assert failed.stdout == ""
    error = json.loads(failed.stderr[failed.stderr.index("{"):])
    assert set(error) == {"error", "code"} and error["code"] in SWAMP_ERROR_CODES
    other = run_fake("model", "method", "run", "web", "deploy", "--json", "--input",
                     "fail=unknown_method")
    assert other.returncode == 1


def test_launch_builds_the_real_cli_argv() -> None:
    spec = {"model": "web", "method": "deploy", "inputs": {"b": 2, "a": "x"}, "repo": "/r"}
    got = launch(JobKind.SWAMP, spec, swamp_executable="/opt/swamp", base_env={"PATH": "/bin"},
                 job_id="j1")
    # one JSON object (swamp's JSON mode): values keep their types, nothing is read as a file
    assert got.argv == ["/opt/swamp", "model", "method", "run", "web", "deploy", "--json",
                        "--input", '{"b":2,"a":"x"}']
    assert got.cwd == "/r" and got.env == {"PATH": "/bin", "SWAMPD_JOB_ID": "j1"}
    cmd = launch(JobKind.COMMAND, {"argv": ["echo", "hi"], "cwd": "/tmp", "env": {"X": "1"}},
                 swamp_executable="", base_env={}, job_id="j2")
    assert cmd.argv == ["echo", "hi"] and cmd.env == {"X": "1", "SWAMPD_JOB_ID": "j2"}


def test_inputs_are_passed_as_one_json_object() -> None:
    """issue 10 #5: `@...` strings and dotted keys reach swamp literally (was: `--input msg=@/etc/hostname`)."""
    assert input_flags({}) == []
    flags = input_flags({"msg": "@/etc/hostname", "a.b": 1, "esc": "\\@x"})
    assert flags[0] == "--input" and len(flags) == 2
    assert json.loads(flags[1]) == {"msg": "@/etc/hostname", "a.b": 1, "esc": "\\@x"}
    with pytest.raises(InvalidParams):
        input_flags({"big": 2 ** 70})


def test_parse_output() -> None:
    view = {"status": "succeeded", "modelName": "m"}
    assert parse_swamp_output(0, json.dumps(view).encode(), b"") == (view, None)
    failed = {"status": "failed"}
    result, error = parse_swamp_output(1, json.dumps(failed).encode(),
                                       b"progress\n{\"error\": \"boom\", \"code\": \"method_execution_failed\"}\n")
    assert result == failed
    assert error == {"message": "boom", "code": "method_execution_failed", "exit_code": 1}
    # swamp pretty-prints the error over several lines, after its log lines
    pretty = b"progress\n" + json.dumps({"error": "x", "code": "validation_failed"}, indent=2).encode() + b"\n"
    assert parse_swamp_output(1, b"", pretty)[1] == {"message": "x", "code": "validation_failed", "exit_code": 1}
    assert parse_swamp_output(-9, b"", b"")[1]["code"] == "signalled"
    assert parse_swamp_output(0, b"not json", b"")[1]["code"] == "bad_output"
    assert parse_swamp_output(3, b"", b"garbage")[1]["code"] == "exit_status"


def test_our_console_script_is_refused(tmp_path: Path) -> None:
    ours = Path(sys.executable).parent / "swamp"
    assert ours.exists() and is_own_console_script(str(ours))
    with pytest.raises(InvalidInput):
        resolve_swamp_executable(str(ours))
    # a bare name skips ours on PATH and finds the next `swamp`
    other = tmp_path / "bin"
    other.mkdir()
    real = other / "swamp"
    real.write_text("#!/bin/sh\necho real\n")
    real.chmod(0o755)
    path = os.pathsep.join([str(ours.parent), str(other)])
    assert resolve_swamp_executable("swamp", path) == str(real)
    with pytest.raises(NotFound):
        resolve_swamp_executable("swamp", str(ours.parent))
    with pytest.raises(NotFound):
        resolve_swamp_executable(str(tmp_path / "missing"))


def test_swamp_spec_validation(tmp_path: Path) -> None:
    spec = swamp_spec("m", "run", {"a": 1}, str(tmp_path))
    assert spec == {"model": "m", "method": "run", "inputs": {"a": 1}, "repo": str(tmp_path)}
    with pytest.raises(InvalidParams):
        swamp_spec("m", "run", {}, "relative/path")
    with pytest.raises(InvalidParams):
        swamp_spec("m", "run", [], str(tmp_path))
    with pytest.raises(InvalidParams):
        swamp_spec("m", "run", {}, str(tmp_path), env={"A": 1})


def test_settings_from_table_and_env() -> None:
    s = JobSettings.from_mapping({"max_concurrent": 3, "kill_grace": 1.5}, env={})
    assert (s.max_concurrent, s.kill_grace, s.swamp_executable) == (3, 1.5, "swamp")
    s = JobSettings.from_mapping({"swamp_executable": "/a"}, env={"SWAMPD_SWAMP_EXECUTABLE": "/b"})
    assert s.swamp_executable == "/b"
    with pytest.raises(InvalidInput):
        JobSettings.from_mapping({"bogus": 1}, env={})
    with pytest.raises(InvalidInput):
        JobSettings.from_mapping({"max_concurrent": 0}, env={})
    with pytest.raises(InvalidInput):
        JobSettings.from_mapping({"kill_grace": "soon"}, env={})


def test_states_enum() -> None:
    assert [s.value for s in JobState] == ["queued", "running", "succeeded", "failed", "cancelled"]
    assert {s for s in JobState if s.terminal} == TERMINAL
    assert not JobState.RUNNING.terminal and not JobState.QUEUED.terminal
