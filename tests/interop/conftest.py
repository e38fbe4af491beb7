"""Helpers for the conformance suite: real swamp repos built by hand where swamp would only
write a file (a model definition), so the real CLI is called only where it matters."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REAL_SWAMP, DaemonProcess, RealSwamp, _kill_daemons_of, base_env

SHELL_TYPE_VERSION = "2026.02.09.1"


def write_shell_model(repo: Path, name: str, run: str, *, inputs: dict[str, Any] | None = None,
                      model_id: str | None = None) -> str:
    """A `command/shell` model definition as `swamp model create` writes it, with `execute`'s `run`
    set (and an `inputs` schema when given); returns the model id."""
    model_id = model_id or str(uuid.uuid4())
    definition: dict[str, Any] = {
        "type": "command/shell", "typeVersion": SHELL_TYPE_VERSION, "id": model_id, "name": name,
        "version": 1, "tags": {}, "globalArguments": {},
    }
    if inputs is not None:
        definition["inputs"] = {"properties": inputs, "required": []}
    definition["methods"] = {"execute": {"arguments": {"run": run}}}
    path = repo / "models" / "command" / "shell" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(definition, sort_keys=False))
    return model_id


@contextmanager
def swampd_beside(real: RealSwamp, **extra_env: str) -> Iterator[DaemonProcess]:
    """A real swampd daemon (its own short home for the socket) that runs the real swamp CLI for
    jobs, with the same HOME/SWAMP_HOME as `real`, so both see one world. Module fixtures use it."""
    home = Path(tempfile.mkdtemp(prefix="sd-", dir="/tmp"))
    swamp_env = {k: v for k, v in real.env().items() if k in ("HOME", "SWAMP_HOME", "NO_COLOR")}
    env = base_env(home, SWAMPD_SWAMP_EXECUTABLE=str(REAL_SWAMP), **swamp_env, **extra_env)
    proc = DaemonProcess(home, env).start()
    try:
        yield proc
    finally:
        proc.stop()
        proc.kill9()
        _kill_daemons_of(home)
        shutil.rmtree(home, ignore_errors=True)

