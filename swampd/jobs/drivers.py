"""What each job kind runs, and how its output becomes a result.

swamp: `<swamp> model method run <model> <method> --json [--input <inputs as JSON>]` in the repo
directory, with the real swamp CLI (never this package's own `swamp` console script). On
success stdout holds the `ModelMethodRunView` JSON; on failure stderr ends with
`{"error": ..., "code": ...}` and the exit code is non-zero (75 for `lock_timeout`).

workflow: `<swamp> workflow run <workflow> --json [--input <inputs as JSON>]` in the repo directory;
stdout holds the workflow run's JSON.

command: an argv with cwd and env; the result is the exit code.

A job with a `target` runs elsewhere (swampd/jobs/remote.py): its repo and cwd are paths on that
host, so they are checked there, not here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from swampd.errors import InvalidInput, InvalidParams, NotFound
from swampd.jobs.states import JobKind
from swampd.swamp_binary import SwampBinaryError, find_real_swamp, is_own_front


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    cwd: str | None
    env: dict[str, str]


def is_own_console_script(path: str) -> bool:
    """True when `path` is this package's `swamp` front end (console script or launcher)."""
    return is_own_front(path)


def resolve_swamp_executable(configured: str, path_env: str | None = None) -> str:
    """The absolute path of the real swamp CLI (swampd.swamp_binary's rule), as a daemon error."""
    try:
        return find_real_swamp(configured, path_env)
    except SwampBinaryError as exc:
        if exc.reason == "own":
            raise InvalidInput(exc.message) from None
        raise NotFound(exc.message) from None


def input_flags(inputs: Mapping[str, Any]) -> list[str]:
    """The inputs as one `--input <JSON object>` (swamp's JSON mode), or nothing when empty.

    swamp's key=value form reads a value starting with `@` as a file (with the reader's
    permissions) and splits dotted keys into nested objects; its JSON mode (exactly one
    `--input` whose text starts with `{`) takes the object as it is: every value keeps its
    JSON type and every string, `@...` included, reaches the method literally.
    """
    if not inputs:
        return []
    try:
        text = orjson.dumps(inputs).decode()
    except TypeError:  # orjson.JSONEncodeError, e.g. an integer beyond 64 bits
        raise InvalidParams("inputs must be a JSON object", param="inputs") from None
    return ["--input", text]


def _inputs(inputs: Any) -> dict[str, Any]:
    if inputs is None:
        return {}
    if not isinstance(inputs, dict):
        raise InvalidParams("inputs must be an object of name: value")
    input_flags(inputs)
    return inputs


def _argv(argv: Any) -> list[str]:
    """A command line a process can be started with: strings without NUL (exec cannot pass one)."""
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise InvalidParams("argv must be a non-empty list of strings", param="argv")
    if any("\0" in a for a in argv):
        raise InvalidParams("argv must not contain a NUL character", param="argv")
    return list(argv)


def _path(value: Any, name: str) -> Any:
    if isinstance(value, str) and "\0" in value:
        raise InvalidParams(f"{name} must not contain a NUL character", param=name)
    return value


def _repo(repo: Any, *, local: bool) -> str | None:
    if repo is None:
        if local:
            raise InvalidParams("repo (the swamp repo directory) is required")
        return None
    if not isinstance(_path(repo, "repo"), str) or not os.path.isabs(repo):
        raise InvalidParams("repo must be an absolute directory path")
    if local and not os.path.isdir(repo):
        raise NotFound(f"repo directory {repo} does not exist")
    return os.path.normpath(str(repo))


def swamp_spec(
    model: Any = None, method: Any = None, inputs: Any = None, repo: Any = None, env: Any = None,
    *, local: bool = True,
) -> dict[str, Any]:
    """Validate and normalise the spec of a swamp run (this is what dedupe keys hash).

    local=False: the run happens on another host, where `repo` is checked (and may be omitted
    for a swamp serve endpoint, which has its own repo).
    """
    if not isinstance(model, str) or not model:
        raise InvalidParams("model must be a non-empty string")
    if not isinstance(method, str) or not method:
        raise InvalidParams("method must be a non-empty string")
    spec: dict[str, Any] = {"model": model, "method": method, "inputs": _inputs(inputs),
                            "repo": _repo(repo, local=local)}
    if env:
        spec["env"] = _check_env(env)
    return spec


def workflow_spec(
    workflow: Any = None, inputs: Any = None, repo: Any = None, env: Any = None, *, local: bool = True,
) -> dict[str, Any]:
    """Validate and normalise the spec of a workflow run."""
    if not isinstance(workflow, str) or not workflow:
        raise InvalidParams("workflow must be a non-empty string")
    spec: dict[str, Any] = {"workflow": workflow, "inputs": _inputs(inputs), "repo": _repo(repo, local=local)}
    if env:
        spec["env"] = _check_env(env)
    return spec


def command_spec(argv: Any = None, cwd: Any = None, env: Any = None, *, local: bool = True) -> dict[str, Any]:
    argv = _argv(argv)
    if cwd is not None and (not isinstance(_path(cwd, "cwd"), str) or not os.path.isabs(cwd)):
        raise InvalidParams("cwd must be an absolute directory path")
    if local and cwd is not None and not os.path.isdir(cwd):
        raise NotFound(f"cwd {cwd} does not exist")
    return {"argv": argv, "cwd": cwd, "env": _check_env(env) if env else {}}


def swamp_cli_spec(argv: Any = None, cwd: Any = None, env: Any = None, executable: Any = None,
                   repo: Any = None, model: Any = None, method: Any = None, identity: Any = None) -> dict[str, Any]:
    """A swamp command line from the front: run as given (argv after `swamp`), in cwd, with env.

    `identity` is what identical runs share (the front's dedupe rule, docs/front.md); `repo`,
    `model` and `method` name the run for the per-model lock, the job list and the console.
    """
    argv = _argv(argv)
    for name, value in (("cwd", cwd), ("executable", executable), ("repo", repo)):
        if not isinstance(_path(value, name), str) or not os.path.isabs(value):
            raise InvalidParams(f"{name} must be an absolute path")
    if not os.path.isdir(cwd):
        raise NotFound(f"cwd {cwd} does not exist")
    for name, value in (("model", model), ("method", method), ("identity", identity)):
        if not isinstance(value, str) or not value:
            raise InvalidParams(f"{name} must be a non-empty string")
    return {"argv": list(argv), "cwd": cwd, "env": _check_env(env or {}), "executable": executable,
            "repo": repo, "model": model, "method": method, "identity": identity}


def dedupe_material(kind: JobKind, spec: Mapping[str, Any]) -> dict[str, Any]:
    """What two identical runs have in common (a front run's env is in its identity, filtered)."""
    if kind is JobKind.SWAMP_CLI:
        return {"kind": kind.value, "identity": spec["identity"]}
    return {"kind": kind.value, "spec": dict(spec)}


def _check_env(env: Any) -> dict[str, str]:
    """Environment variables a process can be given: names without `=` or NUL, values without NUL."""
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        raise InvalidParams("env must be an object of string: string", param="env")
    for key, value in env.items():
        if not key or "=" in key or "\0" in key:
            raise InvalidParams(f"env name {key!r} is not valid: names are non-empty, without '=' or NUL",
                                param="env")
        if "\0" in value:
            raise InvalidParams(f"env {key} must not contain a NUL character", param="env")
    return dict(env)


def launch(kind: JobKind, spec: Mapping[str, Any], *, swamp_executable: str,
           base_env: Mapping[str, str], job_id: str) -> Launch:
    env = {**base_env, **spec.get("env", {}), "SWAMPD_JOB_ID": job_id}
    if kind is JobKind.SWAMP_CLI:  # the caller's environment, exactly: not merged with the daemon's
        return Launch(argv=[spec["executable"], *spec["argv"]], cwd=spec["cwd"],
                      env={**spec.get("env", {}), "SWAMPD_JOB_ID": job_id})
    if kind is JobKind.SWAMP:
        argv = [swamp_executable, "model", "method", "run", spec["model"], spec["method"],
                "--json", *input_flags(spec.get("inputs", {}))]
        return Launch(argv=argv, cwd=spec["repo"], env=env)
    if kind is JobKind.WORKFLOW:
        argv = [swamp_executable, "workflow", "run", spec["workflow"], "--json",
                *input_flags(spec.get("inputs", {}))]
        return Launch(argv=argv, cwd=spec["repo"], env=env)
    return Launch(argv=list(spec["argv"]), cwd=spec.get("cwd"), env=env)


def parse_swamp_output(exit_code: int, stdout: bytes, stderr: bytes) -> tuple[Any, dict[str, Any] | None]:
    """(result, error) from a finished `swamp model method run --json`.

    result: the ModelMethodRunView object when stdout holds one (also on a failed run whose
    status is `failed`). error: `{"message", "code", "exit_code"}` from the last JSON line of
    stderr (`{error, code}`), or a generic one when the run failed without it.
    """
    result = _last_json_object(stdout)
    if exit_code == 0 and isinstance(result, dict):
        return result, None
    err = _last_json_object(stderr)
    if isinstance(err, dict) and "error" in err:
        return result, {"message": str(err.get("error")), "code": str(err.get("code", "error")),
                        "exit_code": exit_code}
    if exit_code == 0:
        return result, {"message": "swamp printed no JSON result", "code": "bad_output",
                        "exit_code": exit_code}
    if exit_code < 0:
        return result, {"message": f"swamp was killed by signal {-exit_code}", "code": "signalled",
                        "exit_code": exit_code}
    return result, {"message": f"swamp exited with code {exit_code}", "code": "exit_status",
                    "exit_code": exit_code}


def _last_json_object(raw: bytes) -> Any:
    """The last JSON object in a stream: the whole text, else the trailing block starting at a
    line that opens with `{` (swamp pretty-prints its `--json` output over several lines, after
    any log lines), else the last single line that is one."""
    text = raw.strip()
    if not text:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    lines = text.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        if not lines[i].lstrip().startswith(b"{"):
            continue
        for candidate in (b"\n".join(lines[i:]), lines[i]):
            try:
                return orjson.loads(candidate)
            except orjson.JSONDecodeError:
                continue
    return None
