"""The host vault against a real Secret Service (gnome-keyring on a private D-Bus session)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from swampd.errors import Conflict, InvalidInput, NotFound
from swampd.vault.keyring_backend import KeyringStore, load_backend
from swampd.vault.service import VaultService

from .conftest import HOST_VAULT, secret_tool_lookup
from .swamp_format import read_text

pytestmark = [pytest.mark.anyio, pytest.mark.keyring]


async def test_put_get_list_delete_roundtrip(host_service: VaultService, keyring_service_name: str) -> None:
    reply = await host_service.put(None, "GITHUB_TOKEN", "ghp_host-level-value", labels={"team": "infra"})
    assert reply["vaultName"] == HOST_VAULT and reply["vaultType"] == "keyring"
    assert reply["overwritten"] is False

    # An independent Secret Service client (libsecret's secret-tool) sees the item.
    assert secret_tool_lookup(f"{keyring_service_name}:{HOST_VAULT}", "GITHUB_TOKEN") == "ghp_host-level-value"

    got = await host_service.get(HOST_VAULT, "GITHUB_TOKEN", reveal=True)
    assert got["value"] == "ghp_host-level-value"

    hidden = await host_service.get(HOST_VAULT, "GITHUB_TOKEN")
    assert "value" not in hidden and hidden["revealed"] is False
    assert hidden["sizeBytes"] == len("ghp_host-level-value")
    assert hidden["labels"] == {"team": "infra"} and hidden["version"] == 1

    listing = await host_service.list(HOST_VAULT)
    (vault,) = listing["vaults"]
    assert [k["key"] for k in vault["keys"]] == ["GITHUB_TOKEN"]
    assert "ghp_" not in json.dumps(listing)

    deleted = await host_service.delete(HOST_VAULT, "GITHUB_TOKEN")
    assert "noOp" not in deleted
    assert secret_tool_lookup(f"{keyring_service_name}:{HOST_VAULT}", "GITHUB_TOKEN") is None
    with pytest.raises(NotFound):
        await host_service.get(HOST_VAULT, "GITHUB_TOKEN", reveal=True)
    assert (await host_service.delete(HOST_VAULT, "GITHUB_TOKEN"))["noOp"] is True


async def test_overwrite_needs_the_flag_and_counts_versions(host_service: VaultService) -> None:
    await host_service.put(None, "K", "one")
    with pytest.raises(Conflict):
        await host_service.put(None, "K", "two")
    assert (await host_service.get(None, "K", reveal=True))["value"] == "one"
    reply = await host_service.put(None, "K", "three", overwrite=True)
    assert reply["overwritten"] is True
    meta = await host_service.get(None, "K")
    assert meta["version"] == 2 and meta["sizeBytes"] == 5
    assert meta["createdAt"] <= meta["updatedAt"]


async def test_metadata_index_is_private_and_holds_no_values(host_service: VaultService) -> None:
    await host_service.put(None, "INDEXED", "index-must-not-hold-this")
    path = host_service.index.path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    text = read_text(path)
    assert "INDEXED" in text and "index-must-not-hold-this" not in text


async def test_host_vault_is_shared_by_every_service_on_the_keyring(
    make_service, secret_service: str, keyring_service_name: str, tmp_path
) -> None:
    # Two services (two "daemons" over different repos) with the same keyring service name:
    # the value lives in the keyring, so the second reads what the first stored.
    first = make_service([], keyring_service=keyring_service_name)
    await first.put(None, "SHARED", "shared-host-value")
    second = KeyringStore("keyring.backends.SecretService.Keyring", keyring_service_name)
    try:
        assert second.get(HOST_VAULT, "SHARED") == "shared-host-value"
    finally:
        second.delete(HOST_VAULT, "SHARED")


def test_plaintext_and_fail_backends_are_refused() -> None:
    for path in (
        "keyring.backends.fail.Keyring",
        "keyring.backends.null.Keyring",
        "keyrings.alt.file.PlaintextKeyring",
    ):
        with pytest.raises(InvalidInput):
            load_backend(path)


def test_the_service_uses_the_secret_service_backend(host_service: VaultService) -> None:
    assert host_service.settings.keyring_backend == "keyring.backends.SecretService.Keyring"
    host_service.keyring.check()
    assert type(host_service.keyring._backend).__module__ == "keyring.backends.SecretService"
