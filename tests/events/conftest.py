from __future__ import annotations

from pathlib import Path

import pytest

from tests.jobs.conftest import FAKE_SWAMP


@pytest.fixture
def daemon_env(daemon_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """Jobs run the swamp stand-in, whose `gate` input lets a test line up a flight's callers."""
    return {**daemon_env, "SWAMPD_SWAMP_EXECUTABLE": FAKE_SWAMP, "FAKE_SWAMP_COUNT": str(tmp_path / "count")}


@pytest.fixture
def repo(tmp_path: Path) -> str:
    path = tmp_path / "repo"
    path.mkdir()
    return str(path)
