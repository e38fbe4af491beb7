"""Jobs against the real swamp: a `command/shell` model run through swampd (inputs of every JSON
type, the `@` case, dotted keys, cancel, 20 concurrent identical runs), compared with a direct run."""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DaemonProcess, RealSwamp, swampd_command, wait_until

from .conftest import swampd_beside, write_shell_model

ECHO_INPUTS = ("printf '%s\\n' '${{ inputs.s }}' '${{ inputs.n }}' '${{ inputs.i }}' '${{ inputs.b }}' "
               "'${{ inputs.a }}' '${{ inputs.o }}'")
TYPED_INPUTS = {"s": {"type": "string"}, "n": {"type": "number"}, "i": {"type": "integer"},
                "b": {"type": "boolean"}, "a": {"type": "array"}, "o": {"type": "object"}}


class World:
    def __init__(self, real: RealSwamp, repo: Path, daemon: DaemonProcess, tmp: Path) -> None:
        self.real, self.repo, self.daemon, self.tmp = real, repo, daemon, tmp

    def submit(self, model: str, inputs: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        params = {"kind": "swamp", "model": model, "method": "execute", "repo": str(self.repo), **extra}
        if inputs is not None:
            params["inputs"] = inputs
        with self.daemon.client(timeout=300) as client:
            return client.call("jobs.submit", params)


@pytest.fixture(scope="module")
def world(module_real_swamp: RealSwamp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("jobs")
    repo = module_real_swamp.init_repo(tmp / "repo")
    write_shell_model(repo, "types", ECHO_INPUTS, inputs=TYPED_INPUTS)
    write_shell_model(repo, "slow", "sleep 600")
    gate, count = tmp / "gate", tmp / "count"
    write_shell_model(repo, "gated", f"while [ ! -e {gate} ]; do sleep 0.05; done; echo ran >> {count}; "
                                     "echo once-${{ inputs.tag }}", inputs={"tag": {"type": "string"}})
    with swampd_beside(module_real_swamp) as daemon:
        yield World(module_real_swamp, repo, daemon, tmp)


def _stdout(view: dict[str, Any]) -> str:
    return next(a for a in view["dataArtifacts"] if a["name"] == "result")["attributes"]["stdout"]


def test_inputs_of_every_json_type_and_at_strings_reach_the_method_literally(world: World) -> None:
    """issue 10 #5: a JSON string starting with `@` is that string, never a file read by the daemon."""
    secret = world.tmp / "daemon-readable.txt"
    secret.write_text("CONTENTS-THE-CALLER-NEVER-ASKED-FOR")
    inputs = {"s": f"@{secret}", "n": 1.5, "i": 3, "b": True, "a": [1, "x"], "o": {"k": "v", "n": {"d": 1}}}
    record = world.submit("types", inputs)
    assert record["state"] == "succeeded", record
    through_swampd = _stdout(record["result"])
    assert "CONTENTS" not in through_swampd
    direct = world.real.json("model", "method", "run", "types", "execute", "--input", json.dumps(inputs),
                             cwd=world.repo)
    assert through_swampd == _stdout(direct)
    lines = through_swampd.split("\n")
    assert lines[:4] == [f"@{secret}", "1.5", "3", "true"]
    assert json.loads("\n".join(lines[4:8])) == [1, "x"]
    assert isinstance(record["result"]["duration"], int)


def test_a_null_input_is_refused_as_swamp_refuses_it(world: World) -> None:
    record = world.submit("types", {"s": None})
    assert record["state"] == "failed"
    assert record["error"]["message"].startswith("Input validation failed") and "s cannot be null" in \
        record["error"]["message"]


def test_cli_inputs_mean_what_they_mean_to_swamp(world: World) -> None:
    """`swampd run --input` through the daemon: dotted keys nest, `:json` is typed, `\\@` is literal,
    and the human line prints swamp's duration (issue 10 #7)."""
    env = world.daemon.env
    result = subprocess.run(
        [*swampd_command(), "--json", "run", "types", "execute", "--repo", str(world.repo),
         "--input", "o.k=v", "--input", "o.n:json={\"d\":2}", "--input", "s=\\@not-a-file", "--input", "i:json=7"],
        env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = _stdout(json.loads(result.stdout)).split("\n")
    assert lines[0] == "@not-a-file" and lines[2] == "7"
    assert json.loads("\n".join(lines[-6:])) == {"k": "v", "n": {"d": 2}}
    human = subprocess.run([*swampd_command(), "run", "types", "execute", "--repo", str(world.repo),
                            "--input", "i:json=8"],
                           env=env, capture_output=True, text=True, timeout=300)
    assert human.returncode == 0, human.stderr
    assert re.search(r": succeeded in (\d+ms|\d+\.\ds) ", human.stdout), human.stdout


def test_cancel_stops_the_real_run_and_the_model_runs_again(world: World) -> None:
    job = world.submit("slow", wait=False)
    wait_until(lambda: world.daemon.call("jobs.get", {"id": job["id"]})["state"] == "running", timeout=120)
    answer = world.daemon.call("jobs.cancel", {"id": job["id"], "wait": 30})
    assert answer["status"] == "cancelled", answer
    record = world.daemon.call("jobs.get", {"id": job["id"]})
    assert record["state"] == "cancelled"
    assert subprocess.run(["pgrep", "-g", str(record["pgid"])], capture_output=True).returncode == 1
    # swamp's per-model lock of the killed run does not lock the model out: its pid is dead
    again = world.submit("types", {"i": 1})
    assert again["state"] == "succeeded", again


def test_twenty_concurrent_identical_runs_execute_once(world: World) -> None:
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def one() -> None:
        record = world.submit("gated", {"tag": "t20"})
        with lock:
            results.append(record)

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    wait_until(lambda: world.daemon.call("calls.stats")["waiters"] == 20, timeout=120)
    (world.tmp / "gate").touch()
    for t in threads:
        t.join(timeout=300)
    assert len(results) == 20
    assert (world.tmp / "count").read_text() == "ran\n"
    assert {r["id"] for r in results} == {results[0]["id"]}
    assert all(r["state"] == "succeeded" and _stdout(r["result"]) == "once-t20" for r in results)
    versions = world.real.json("data", "versions", "gated", "result", cwd=world.repo)
    assert len(versions["versions"]) == 1

