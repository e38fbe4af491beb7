"""The stand-in (tests/fixtures/fake_swamp.py) answers like the real `swamp model method run --json`,
field by field, for success and failure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from .conftest import write_shell_model

FAKE_SWAMP = Path(__file__).resolve().parent.parent / "fixtures" / "fake_swamp.py"


def _shape(value: Any) -> Any:
    """The JSON type tree of a value: dicts keep their keys, lists their first item's shape."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def test_stand_in_matches_the_real_run_view_and_error(real_swamp, tmp_path: Path) -> None:
    repo = real_swamp.init_repo(tmp_path / "repo")
    write_shell_model(repo, "hello", "echo hi")
    real = real_swamp.run("model", "method", "run", "hello", "execute", "--json", "--input", "timeout=5000", cwd=repo)
    fake = subprocess.run([sys.executable, str(FAKE_SWAMP), "model", "method", "run", "hello", "execute", "--json",
                           "--input", "timeout=5000"], cwd=repo, capture_output=True, text=True, timeout=60)
    assert real.returncode == fake.returncode == 0, (real, fake.stderr)
    ours, theirs = json.loads(fake.stdout), json.loads(real.stdout)
    assert fake.stdout.startswith("{\n  \"") and real.stdout.startswith("{\n  \"")  # pretty, 2 spaces
    assert set(ours) == set(theirs)
    for field in ("modelId", "modelName", "modelType", "methodName", "status", "duration", "outputId",
                  "logFile", "globalArguments", "methodArguments", "initiatedBy", "reports"):
        assert type(ours[field]) is type(theirs[field]), field
    assert isinstance(theirs["duration"], int) and theirs["duration"] < 60_000  # milliseconds
    assert Path(ours["logFile"]).is_absolute() and Path(theirs["logFile"]).is_absolute()
    result = next(a for a in theirs["dataArtifacts"] if a["name"] == "result")
    fake_result = ours["dataArtifacts"][0]
    assert set(fake_result) == set(result) == {"id", "name", "path", "attributes"}
    # the artifact path is the version dir, under the repo's data
    assert Path(result["path"]).name == "1" and Path(fake_result["path"]).name == "1"
    assert Path(result["path"]).parent.parent.parent.parent.parent == repo / ".swamp" / "data"
    assert Path(fake_result["path"]).is_relative_to(repo / ".swamp" / "data")
    # inputs that are not declared model inputs become method arguments (swamp) / are echoed (stand-in)
    assert theirs["methodArguments"]["timeout"] == ours["methodArguments"]["timeout"] == "5000"

    real_fail = real_swamp.run("model", "method", "run", "hello", "execute", "--json", "--input", "nope=1", cwd=repo)
    fake_fail = subprocess.run([sys.executable, str(FAKE_SWAMP), "model", "method", "run", "hello", "execute",
                                "--json", "--input", "fail=validation_failed"],
                               cwd=repo, capture_output=True, text=True, timeout=60)
    assert real_fail.returncode == fake_fail.returncode == 1
    assert real_fail.stdout == fake_fail.stdout == ""
    theirs_err = json.loads(real_fail.stderr[real_fail.stderr.index("{"):])
    ours_err = json.loads(fake_fail.stderr[fake_fail.stderr.index("{"):])
    assert set(theirs_err) == set(ours_err) == {"error", "code"}
    assert theirs_err["code"] == ours_err["code"] == "validation_failed"
    assert real_fail.stderr.rstrip().endswith("\n}") and fake_fail.stderr.rstrip().endswith("\n}")
