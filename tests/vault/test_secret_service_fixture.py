"""The keyring fixtures skip only without a D-Bus session, and never in CI (CI=true)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = f"{HERE / 'test_keyring_host_vault.py'}::test_the_service_uses_the_secret_service_backend"


def run_pytest(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", TARGET],
        env=env, capture_output=True, text=True, timeout=120, cwd=HERE.parent.parent, check=False,
    )


def env_without_dbus(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "CI")}
    env.update(extra)
    return env


def test_without_dbus_the_keyring_tests_skip_with_a_reason() -> None:
    proc = run_pytest(env_without_dbus())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 skipped" in proc.stdout and "no D-Bus session" in proc.stdout


def test_without_dbus_in_ci_the_keyring_tests_fail() -> None:
    proc = run_pytest(env_without_dbus(CI="true"))
    assert proc.returncode != 0
    assert "CI=true" in proc.stdout and " skipped" not in proc.stdout.splitlines()[-1]


def test_with_a_dbus_session_but_no_secret_service_they_fail(tmp_path: Path) -> None:
    # A D-Bus address that leads nowhere: present but broken is a failure, not a skip.
    proc = run_pytest(env_without_dbus(DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp_path}/no-bus"))
    assert proc.returncode != 0 and " skipped" not in proc.stdout.splitlines()[-1]
    assert "backend_unavailable" in proc.stdout or "BackendUnavailable" in proc.stdout
