"""Fixtures for the vault tests: a real Secret Service, swamp repos, a VaultService."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from swampd.vault.service import VaultService
from swampd.vault.settings import VaultSettings

HOST_VAULT = "host"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _no_secret_service(reason: str) -> None:
    """Skip, except in CI (CI=true), where a missing Secret Service is a failure."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: keyring tests may not be skipped)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def secret_service() -> str:
    """The D-Bus session bus address of an unlocked Secret Service (scripts/with-secret-service)."""
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if not address:
        _no_secret_service(
            "no D-Bus session (DBUS_SESSION_BUS_ADDRESS unset): run pytest under scripts/with-secret-service"
        )
    # A D-Bus session is present: from here on a broken Secret Service is a failure, not a skip.
    from swampd.vault.keyring_backend import KeyringStore

    KeyringStore("keyring.backends.SecretService.Keyring", "swampd-test-probe").check()
    return str(address)


@pytest.fixture
def keyring_service_name() -> str:
    """A Secret Service `service` prefix unique to one test, so tests never see each other's items."""
    return f"swampd-test-{uuid.uuid4().hex[:12]}"


class Events:
    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, topic: str, data: dict[str, Any]) -> None:
        self.items.append((topic, data))

    def types(self) -> list[str]:
        return [d["type"] for _, d in self.items]


@pytest.fixture
def events() -> Events:
    return Events()


class Repo:
    """A swamp repo on disk with one local_encryption vault config."""

    def __init__(self, root: str) -> None:
        self.root = root
        with open(os.path.join(root, ".swamp.yaml"), "w") as fh:
            fh.write("swampVersion: 0.1.0\n")

    def add_vault(self, name: str, config: dict[str, Any] | None = None, vtype: str = "local_encryption",
                  audit_reads: bool = False) -> str:
        vid = str(uuid.uuid4())
        d = os.path.join(self.root, "vaults", vtype)
        os.makedirs(d, exist_ok=True)
        cfg = {"auto_generate": True, "base_dir": "/somewhere/else/old-checkout"} if config is None else config
        doc: dict[str, Any] = {"id": vid, "name": name, "type": vtype, "config": cfg,
                               "createdAt": "2026-11-01T10:00:00.000Z"}
        if audit_reads:
            doc["auditReads"] = True
        path = os.path.join(d, f"{vid}.yaml")
        with open(path, "w") as fh:
            yaml.safe_dump(doc, fh, sort_keys=False)
        return path

    def secrets_dir(self, vault: str) -> str:
        return os.path.join(self.root, ".swamp", "secrets", "local_encryption", vault)


@pytest.fixture
def repo(tmp_path: Any) -> Repo:
    root = tmp_path / "repo"
    root.mkdir()
    r = Repo(str(root))
    r.add_vault("dev")
    return r


@pytest.fixture
def make_service(tmp_path: Any, events: Events) -> Iterator[Callable[..., VaultService]]:
    made: list[VaultService] = []

    def make(repos: list[str] | None = None, **settings: Any) -> VaultService:
        svc = VaultService(
            VaultSettings.from_mapping(settings),
            data_dir=str(tmp_path / "data"),
            state_dir=str(tmp_path / "state"),
            publish=events,
            list_repo_dirs=lambda: list(repos or []),
        )
        made.append(svc)
        return svc

    yield make
    for svc in made:
        svc.keys.clear()


@pytest.fixture
def service(make_service: Callable[..., VaultService], repo: Repo) -> VaultService:
    """A VaultService over one repo; the host vault is not touched (no keyring needed)."""
    return make_service([repo.root])


@pytest.fixture
def host_service(
    make_service: Callable[..., VaultService], repo: Repo, secret_service: str, keyring_service_name: str
) -> Iterator[VaultService]:
    """A VaultService whose host vault lives in the real Secret Service, under a unique prefix."""
    svc = make_service([repo.root], keyring_service=keyring_service_name)
    yield svc
    # Remove this test's items from the throwaway keyring.
    for key in svc.index.keys(HOST_VAULT):
        try:
            svc.keyring.delete(HOST_VAULT, key)
        except Exception:  # noqa: BLE001 - cleanup is best effort
            pass


def secret_tool_lookup(service: str, key: str) -> str | None:
    """Read an item with libsecret's `secret-tool` (an independent Secret Service client)."""
    proc = subprocess.run(
        ["secret-tool", "lookup", "service", service, "username", key],
        capture_output=True, text=True, timeout=30, check=False,
    )
    return proc.stdout if proc.returncode == 0 else None
