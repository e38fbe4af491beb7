"""Fixtures for the `swamp` front end: the real swamp first on PATH, after the front's own bin dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import BIN_DIR, REAL_SWAMP, swamp_command

REAL_BIN_DIR = REAL_SWAMP.parent


def front_path(*first: Path | str) -> str:
    """A PATH with the venv's bin (the front) before the real swamp's bin dir."""
    return os.pathsep.join([*map(str, first), str(BIN_DIR), str(REAL_BIN_DIR), "/usr/bin", "/bin"])


@pytest.fixture
def front_env(daemon_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The test daemon's environment, a private swamp home and the real swamp on PATH."""
    home = tmp_path / "swamp-home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in daemon_env.items() if not k.startswith("SWAMP_")}
    env.update(PATH=front_path(), HOME=str(home), SWAMP_HOME=str(home / ".swamp"), NO_COLOR="1")
    return env


@pytest.fixture(params=["console-script", "launcher"])
def any_front(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    """Each of the two fronts: pip's `swamp` console script, and the shell launcher
    `swamp daemon install-front` writes (it passes most commands through without Python)."""
    if request.param == "console-script":
        return swamp_command()
    from cli.front_install import launcher_text

    launcher = tmp_path / "front-bin" / "swamp"
    launcher.parent.mkdir()
    launcher.write_text(launcher_text())
    launcher.chmod(0o755)
    return [str(launcher)]
