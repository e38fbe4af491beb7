"""Rotation: policy values, refresh commands, failure keeps the old value, concurrent readers."""

from __future__ import annotations

import string

import anyio
import anyio.lowlevel
import pytest

from swampd.errors import CallFailed, InvalidParams, NotFound, Timeout
from swampd.vault.rotation import RotationPolicy
from swampd.vault.service import VaultService

from .conftest import Events, Repo

pytestmark = pytest.mark.anyio


def test_policy_generates_length_and_alphabet() -> None:
    value = RotationPolicy(length=64, alphabet="hex").validate().generate()
    assert len(value) == 64 and set(value) <= set("0123456789abcdef")
    custom = RotationPolicy(length=40, alphabet="xyz").validate().generate()
    assert len(custom) == 40 and set(custom) <= set("xyz")
    for bad in (RotationPolicy(length=0), RotationPolicy(alphabet="a"), RotationPolicy(length=10**6)):
        with pytest.raises(InvalidParams):
            bad.validate()


async def test_rotate_by_policy(service: VaultService, events: Events) -> None:
    await service.put("dev", "K", "old-value")
    reply = await service.rotate("dev", "K", length=48, alphabet="digits")
    assert reply["source"] == "policy" and "value" not in reply
    new = (await service.get("dev", "K", reveal=True))["value"]
    assert new != "old-value" and len(new) == 48 and set(new) <= set(string.digits)
    assert "vault.rotated" in events.types()


async def test_rotate_with_a_command(service: VaultService) -> None:
    await service.put("dev", "K", "old-value")
    reply = await service.rotate("dev", "K", command="printf 'from-command\\n\\n'")
    assert reply["source"] == "command"
    assert (await service.get("dev", "K", reveal=True))["value"] == "from-command"


async def test_rotate_with_the_stored_refresh_hook(service: VaultService, repo: Repo) -> None:
    await service.put("dev", "K", "old", refresh_command="echo hook-value", refresh_ttl=60)
    reply = await service.rotate("dev", "K")
    assert reply["source"] == "refresh_hook"
    assert (await service.get("dev", "K", reveal=True))["value"] == "hook-value"
    target = await service.resolve("dev")
    hook = await anyio.to_thread.run_sync(target.backend.get_refresh_hook, "K")
    # swamp's RefreshHookData: {command, ttlMs, ttl, lastRefreshedAt}
    assert hook["command"] == "echo hook-value" and hook["ttlMs"] == 60000 and hook["ttl"] == "1m"
    assert hook["lastRefreshedAt"] is not None


@pytest.mark.parametrize(
    ("command", "error"),
    [("echo partial; exit 3", CallFailed), ("true", CallFailed), ("sleep 30", Timeout)],
)
async def test_a_failing_refresh_command_keeps_the_old_value(
    service: VaultService, events: Events, command: str, error: type[Exception]
) -> None:
    await service.put("dev", "K", "kept-old-value")
    with pytest.raises(error) as err:
        await service.rotate("dev", "K", command=command, timeout=0.5)
    assert "old value is kept" in str(err.value)
    assert "partial" not in str(err.value)
    assert (await service.get("dev", "K", reveal=True))["value"] == "kept-old-value"
    failed = [d for _, d in events.items if d["type"] == "vault.rotate.failed"]
    assert failed and failed[-1]["key"] == "K" and failed[-1]["error"]["kind"] == error.kind


async def test_rotating_a_missing_key(service: VaultService) -> None:
    with pytest.raises(NotFound):
        await service.rotate("dev", "NOPE")


async def _readers_during_rotations(service: VaultService, vault: str | None, rounds: int) -> set[str]:
    await service.put(vault, "ROT", "value-0")
    seen: set[str] = set()
    errors: list[BaseException] = []
    done = anyio.Event()
    written = {"value-0"}

    async def reader() -> None:
        while not done.is_set():
            try:
                seen.add((await service.get(vault, "ROT", reveal=True))["value"])
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
            await anyio.lowlevel.checkpoint()

    async def rotator() -> None:
        try:
            for i in range(1, rounds + 1):
                written.add(f"value-{i}")
                await service.rotate(vault, "ROT", command=f"echo value-{i}")
        finally:
            done.set()

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(reader)
        tg.start_soon(rotator)
    assert errors == []
    assert "" not in seen and seen <= written
    return seen


async def test_concurrent_readers_during_rotation_local(service: VaultService) -> None:
    seen = await _readers_during_rotations(service, "dev", rounds=6)
    assert len(seen) >= 1


@pytest.mark.keyring
async def test_concurrent_readers_during_rotation_keyring(host_service: VaultService) -> None:
    seen = await _readers_during_rotations(host_service, None, rounds=6)
    assert len(seen) >= 1
    meta = await host_service.get(None, "ROT")
    assert meta["version"] == 7 and meta["rotatedAt"] is not None


async def test_repo_secrets_show_rotation_version_and_labels(service: VaultService) -> None:
    await service.put("dev", "M", "one", labels={"team": "infra"})
    await service.rotate("dev", "M")
    meta = await service.get("dev", "M")
    assert meta["version"] == 2 and meta["rotatedAt"] is not None and meta["labels"] == {"team": "infra"}
    (vault,) = (await service.list("dev"))["vaults"]
    assert vault["keys"][0]["version"] == 2
    await service.delete("dev", "M")
    await service.put("dev", "M", "again")
    assert (await service.get("dev", "M"))["version"] == 1


COUNTING = 'n=$(cat .count 2>/dev/null || echo 0); n=$((n+1)); echo $n > .count; echo "refreshed-$n"'


async def test_a_stale_refresh_hook_runs_on_read_like_swamp(service: VaultService, repo: Repo, events: Events) -> None:
    # A hook never run is stale: the first read runs it; within the ttl later reads do not.
    await service.put("dev", "H", "initial", refresh_command=COUNTING, refresh_ttl=3600)
    assert (await service.get("dev", "H", reveal=True))["value"] == "refreshed-1"
    assert (await service.get("dev", "H", reveal=True))["value"] == "refreshed-1"
    assert "vault.refreshed" in events.types()


async def test_an_expired_hook_runs_again(service: VaultService, repo: Repo) -> None:
    await service.put("dev", "H", "initial", refresh_command=COUNTING, refresh_ttl=0.001)
    assert (await service.get("dev", "H", reveal=True))["value"] == "refreshed-1"
    assert (await service.get("dev", "H", reveal=True))["value"] == "refreshed-2"


async def test_a_failing_hook_on_read_serves_the_stored_value(service: VaultService, events: Events) -> None:
    await service.put("dev", "H", "stored-value", refresh_command="echo nope; exit 2", refresh_ttl=1)
    assert (await service.get("dev", "H", reveal=True))["value"] == "stored-value"
    failed = [d for _, d in events.items if d["type"] == "vault.refresh.failed"]
    assert failed and failed[0]["error"]["kind"] == "call_failed"


@pytest.mark.keyring
async def test_host_vault_refresh_hook_on_read(host_service: VaultService, tmp_path) -> None:
    await host_service.put(None, "H", "initial", refresh_command=f"cd {tmp_path} && {COUNTING}", refresh_ttl=3600)
    assert (await host_service.get(None, "H", reveal=True))["value"] == "refreshed-1"
    assert (await host_service.get(None, "H", reveal=True))["value"] == "refreshed-1"
    meta = await host_service.get(None, "H")
    assert meta["version"] == 2 and meta["rotatedAt"] is not None


async def test_busy_while_a_rotation_runs(service: VaultService, events: Events, tmp_path) -> None:
    gate = tmp_path / "gate"
    await service.put("dev", "B", "old")
    assert service.busy_reason() is None
    command = f"while [ ! -e {gate} ]; do sleep 0.01; done; echo new"
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: service.rotate("dev", "B", command=command, timeout=60))
        while "vault.rotate.started" not in events.types():
            await anyio.sleep(0.01)
        assert service.busy_reason() == "1 vault rotation(s)"
        await anyio.to_thread.run_sync(gate.touch)
    assert service.busy_reason() is None
    assert (await service.get("dev", "B", reveal=True))["value"] == "new"
