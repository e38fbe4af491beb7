"""Derived keys stay warm per (file, salt); lock and daemon stop drop them."""

from __future__ import annotations

import pytest

from swampd.errors import VaultLocked
from swampd.vault.service import VaultService

from .conftest import Events, Repo
from .swamp_format import write_swamp_key_file, write_swamp_secret

pytestmark = pytest.mark.anyio

MATERIAL = b"a" * 36 + b"b" * 36


async def test_repeated_reads_skip_the_derivation(service: VaultService, repo: Repo) -> None:
    write_swamp_key_file(repo.root, "dev", MATERIAL)
    write_swamp_secret(repo.root, "dev", "K", "warm", MATERIAL)
    assert (await service.get("dev", "K", reveal=True))["value"] == "warm"
    assert service.keys.derivations == 1
    for _ in range(20):
        assert (await service.get("dev", "K", reveal=True))["value"] == "warm"
    assert service.keys.derivations == 1
    assert service.keys.hits >= 20


async def test_a_written_secret_is_warm_for_its_first_read(service: VaultService) -> None:
    await service.put("dev", "K", "fresh")
    derivations = service.keys.derivations
    assert (await service.get("dev", "K", reveal=True))["value"] == "fresh"
    assert service.keys.derivations == derivations


async def test_a_rewritten_file_gets_its_new_key(service: VaultService, repo: Repo) -> None:
    write_swamp_key_file(repo.root, "dev", MATERIAL)
    write_swamp_secret(repo.root, "dev", "K", "first", MATERIAL)
    assert (await service.get("dev", "K", reveal=True))["value"] == "first"
    # swamp rewrites the file behind our back with a new salt: the cache must not be fooled.
    write_swamp_secret(repo.root, "dev", "K", "second", MATERIAL)
    assert (await service.get("dev", "K", reveal=True))["value"] == "second"


async def test_lock_drops_keys_and_refuses_value_operations(
    service: VaultService, events: Events
) -> None:
    await service.put("dev", "K", "v")
    await service.get("dev", "K", reveal=True)
    assert len(service.keys) > 0
    reply = await service.lock()
    assert reply["locked"] is True and len(service.keys) == 0
    with pytest.raises(VaultLocked):
        await service.get("dev", "K", reveal=True)
    with pytest.raises(VaultLocked):
        await service.put("dev", "K2", "v")
    with pytest.raises(VaultLocked):
        await service.rotate("dev", "K")
    with pytest.raises(VaultLocked):
        await service.delete("dev", "K")
    # Names and metadata stay visible while locked.
    listing = await service.list("dev")
    assert listing["locked"] is True and [k["key"] for k in listing["vaults"][0]["keys"]] == ["K"]
    assert (await service.get("dev", "K"))["revealed"] is False

    await service.unlock()
    before = service.keys.derivations
    assert (await service.get("dev", "K", reveal=True))["value"] == "v"
    assert service.keys.derivations == before + 1  # derived again after the lock
    assert {"vault.locked", "vault.unlocked"} <= set(events.types())


async def test_aclose_drops_keys(service: VaultService) -> None:
    await service.put("dev", "K", "v")
    assert len(service.keys) > 0
    await service.aclose()
    assert len(service.keys) == 0
