"""swamp's audit trail: format, place, filters; reading what swamp wrote."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime

import pytest

from swampd.vault.service import VaultService

from .conftest import Repo
from .swamp_format import read_text, write_text

pytestmark = pytest.mark.anyio

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def all_lines(directory: str) -> list[str]:
    return [line for f in sorted(os.listdir(directory)) for line in read_text(os.path.join(directory, f)).splitlines()]


def today_file(directory: str) -> str:
    return os.path.join(directory, f"vault-audit-{datetime.now(UTC).date().isoformat()}.jsonl")


async def test_repo_vault_operations_are_audited_in_swamp_format(service: VaultService, repo: Repo) -> None:
    await service.put("dev", "K", "audited-value", caller="swampd:vault.put")
    await service.get("dev", "K", reveal=True, caller="swampd:vault.get")
    await service.get("dev", "K")  # metadata only: not a read of the value, not audited
    await service.rotate("dev", "K", caller="swampd:vault.rotate")
    await service.delete("dev", "K", caller="swampd:vault.delete")
    await service.flush_audit()
    path = today_file(os.path.join(repo.root, ".swamp", "audit"))
    text = read_text(path)
    lines = [json.loads(line) for line in text.splitlines()]
    assert [e["action"] for e in lines] == ["put", "get", "put", "delete"]
    assert [e["callerContext"] for e in lines] == [
        "swampd:vault.put", "swampd:vault.get", "swampd:vault.rotate", "swampd:vault.delete",
    ]
    for e in lines:
        assert list(e) == ["action", "timestamp", "vaultName", "vaultType", "secretKey", "callerContext"]
        assert ISO_MS.match(e["timestamp"])
        assert e["vaultName"] == "dev" and e["vaultType"] == "local_encryption" and e["secretKey"] == "K"
    # compact JSON.stringify lines, newline-terminated; the value never appears
    assert text.splitlines()[0].startswith('{"action":"put","timestamp":"')
    assert text.endswith("\n") and "audited-value" not in text


async def test_audit_query_filters_and_reads_swamp_and_legacy_files(service: VaultService, repo: Repo) -> None:
    audit_dir = os.path.join(repo.root, ".swamp", "audit")
    os.makedirs(audit_dir)
    day = datetime.now(UTC).date().isoformat()
    legacy = {"timestamp": f"{day}T00:00:01.000Z", "vaultName": "dev", "vaultType": "local_encryption",
              "secretKey": "OLD", "callerContext": "cli:vault-get"}  # legacy lines have no action
    write_text(os.path.join(audit_dir, f"vault-reads-{day}.jsonl"), json.dumps(legacy) + "\nnot json\n")
    await service.put("dev", "A", "1")
    await service.put("dev", "B", "2")
    result = await service.audit(repo=repo.root)
    assert result["returnedCount"] == 3 and result["truncated"] is False
    assert result["entries"][0]["secretKey"] == "OLD" and result["entries"][0]["action"] == "get"
    only_b = await service.audit(key="B", repo=repo.root)
    assert [e["secretKey"] for e in only_b["entries"]] == ["B"]
    puts = await service.audit(action="put")
    assert {e["secretKey"] for e in puts["entries"]} == {"A", "B"}
    limited = await service.audit(limit=1, repo=repo.root)
    assert limited["truncated"] is True and limited["entries"][0]["secretKey"] == "B"


@pytest.mark.keyring
async def test_host_vault_audit_lives_in_the_state_dir(host_service: VaultService, tmp_path) -> None:
    await host_service.put(None, "HK", "host-audited-value")
    await host_service.get(None, "HK", reveal=True)
    await host_service.flush_audit()
    path = today_file(str(tmp_path / "state" / "audit"))
    text = read_text(path)
    assert [json.loads(line)["action"] for line in text.splitlines()] == ["put", "get"]
    assert json.loads(text.splitlines()[0])["vaultType"] == "keyring"
    assert "host-audited-value" not in text
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    result = await host_service.audit(vault="host")
    assert [e["secretKey"] for e in result["entries"]] == ["HK", "HK"]


async def test_an_unwritable_audit_dir_never_fails_the_operation(service: VaultService, repo: Repo) -> None:
    os.makedirs(os.path.join(repo.root, ".swamp"), exist_ok=True)
    write_text(os.path.join(repo.root, ".swamp", "audit"), "a file where the audit dir should be")
    reply = await service.put("dev", "K", "v")
    assert reply["overwritten"] is False
    assert (await service.get("dev", "K", reveal=True))["value"] == "v"
    await service.flush_audit()


def test_audit_writer_keeps_order_and_flushes(tmp_path) -> None:
    from swampd.vault.audit import AuditEntry, AuditTrail, AuditWriter, iso_now

    trail = AuditTrail(str(tmp_path / "audit"))
    writer = AuditWriter()
    for i in range(300):
        writer.submit(trail, AuditEntry("put", iso_now(), "v", "local_encryption", f"K{i}", "test"))
    assert writer.flush()
    lines = [json.loads(line) for line in all_lines(str(tmp_path / "audit"))]
    assert [e["secretKey"] for e in lines] == [f"K{i}" for i in range(300)]
    writer.close()
    writer.submit(trail, AuditEntry("put", iso_now(), "v", "local_encryption", "AFTER", "test"))  # inline
    assert json.loads(all_lines(str(tmp_path / "audit"))[-1])["secretKey"] == "AFTER"
