"""Bootstrap by push, over the real sshd: extensions verified by checksum, secrets audited on both sides."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from swampd.client import RpcError
from swampd.fleet.push import pack_extension
from tests.extensions.helpers import make_archive, make_extension
from tests.fleet.conftest import events_of


def remote(daemon, method: str, params: dict | None = None):
    return daemon.call("fleet.call", {"host": "remote", "method": method, "params": params})


def install_local(daemon, tmp_path: Path, **kwargs) -> dict:
    src = make_extension(tmp_path / f"ext-{uuid.uuid4().hex[:6]}", **kwargs)
    return daemon.call("extensions.install", {"source": str(src)})


def remote_extensions(daemon) -> dict[str, dict]:
    return {f"{e['name']}@{e['version']}": e for e in remote(daemon, "extensions.list")["extensions"]}


def push_with_progress(daemon, params: dict) -> tuple[dict, list[dict]]:
    with daemon.client() as client:
        reply = client.wait_reply(client.request("fleet.push", params))
        progress = [n["params"] for n in client.notifications if n["method"] == "fleet.push.progress"]
    if "error" in reply:
        err = reply["error"]
        raise RpcError(err["code"], err["message"], err.get("data"))
    return reply["result"], progress


def test_an_extension_push_arrives_verified_and_a_second_push_sends_nothing(daemon, tmp_path: Path) -> None:
    local = install_local(daemon, tmp_path)
    result, progress = push_with_progress(daemon, {"host": "remote", "extension": "@acme/tools"})
    assert result["status"] == "installed" and result["verified"] is True
    assert result["checksum"] == local["checksum"] and result["bytes_sent"] > 0
    there = remote_extensions(daemon)["@acme/tools@2026.01.15.1"]
    assert there["checksum"] == local["checksum"]
    assert remote(daemon, "extensions.verify", {"name": "@acme/tools"})["ok"] is True
    assert progress[0]["status"] == "started" and progress[-1]["status"] == "done"
    assert progress[-2]["sent"] == progress[-2]["total"] == result["bytes_sent"]
    again, progress = push_with_progress(daemon, {"host": "remote", "extension": "@acme/tools@2026.01.15.1"})
    assert again["status"] == "unchanged" and again["bytes_sent"] == 0
    assert [p["status"] for p in progress] == ["started", "unchanged"]


def test_a_large_push_reports_progress_chunk_by_chunk(daemon, tmp_path: Path) -> None:
    blobs = {f"files/blob{i}.txt": base64.b64encode(os.urandom(600 * 1024)).decode()[:900_000] for i in range(4)}
    local = install_local(daemon, tmp_path, extra=blobs, manifest={
        "manifestVersion": 1, "name": "@acme/big", "version": "2026.02.01.1", "models": ["server.ts"],
        "additionalFiles": sorted(blobs)})
    with daemon.client() as client:
        client.subscribe(["fleet"])
        result, progress = push_with_progress(daemon, {"host": "remote", "extension": "@acme/big"})
        done = events_of(client, "fleet", lambda d: d["type"] == "fleet.push" and d["status"] == "done")
    assert result["status"] == "installed" and result["checksum"] == local["checksum"]
    sending = [p["sent"] for p in progress if p["status"] == "sending"]
    assert len(sending) >= 10 and sending == sorted(sending) and sending[-1] == result["bytes_sent"]
    assert done["item"] == "@acme/big@2026.02.01.1" and done["host"] == "remote"


def test_a_different_extension_under_the_same_version_needs_force(daemon, tmp_path: Path) -> None:
    install_local(daemon, tmp_path)
    push_with_progress(daemon, {"host": "remote", "extension": "@acme/tools"})
    daemon.call("extensions.remove", {"name": "@acme/tools", "force": True})
    changed = install_local(daemon, tmp_path, extra={"files/notes.md": "# changed\n"},
                            manifest={"manifestVersion": 1, "name": "@acme/tools", "version": "2026.01.15.1",
                                      "models": ["server.ts"], "additionalFiles": ["files/notes.md"]})
    with pytest.raises(RpcError) as exc:
        push_with_progress(daemon, {"host": "remote", "extension": "@acme/tools"})
    assert exc.value.kind == "conflict" and exc.value.data["host"] == "remote"
    result, _ = push_with_progress(daemon, {"host": "remote", "extension": "@acme/tools", "force": True})
    assert result["status"] == "replaced"
    assert remote_extensions(daemon)["@acme/tools@2026.01.15.1"]["checksum"] == changed["checksum"]


def test_an_archive_that_is_not_what_was_announced_is_not_installed(daemon, tmp_path: Path) -> None:
    """The receiving side checks the sha256 of what arrived, then the installed checksum."""
    src = make_extension(tmp_path / "ext")
    archive = pack_extension(str(src))
    begin = {"name": "@acme/tools", "version": "2026.01.15.1", "checksum": "0" * 64, "size": len(archive),
             "sha256": hashlib.sha256(archive).hexdigest()}
    upload = remote(daemon, "fleet.upload.begin", begin)["upload"]
    remote(daemon, "fleet.upload.chunk", {"upload": upload, "offset": 0,
                                          "data": base64.b64encode(archive).decode()})
    with pytest.raises(RpcError) as exc:
        remote(daemon, "fleet.upload.commit", {"upload": upload})
    assert exc.value.kind == "call_failed" and "checksum" in exc.value.message
    assert "@acme/tools@2026.01.15.1" not in remote_extensions(daemon)

    upload = remote(daemon, "fleet.upload.begin", {**begin, "sha256": "1" * 64})["upload"]
    remote(daemon, "fleet.upload.chunk", {"upload": upload, "offset": 0,
                                          "data": base64.b64encode(archive).decode()})
    with pytest.raises(RpcError) as exc:
        remote(daemon, "fleet.upload.commit", {"upload": upload})
    assert "sha256" in exc.value.message
    with pytest.raises(RpcError) as exc:
        remote(daemon, "fleet.upload.chunk", {"upload": upload, "offset": 0, "data": ""})
    assert exc.value.kind == "not_found"  # a failed commit dropped the upload
    with pytest.raises(RpcError) as exc:
        remote(daemon, "fleet.upload.begin", {**begin, "size": 11 * 1024 * 1024})
    assert exc.value.kind == "too_large"
    uploads = Path(remote(daemon, "daemon.status")["config"]["paths"]["state_dir"]) / "fleet" / "uploads"
    assert list(uploads.iterdir()) == []


def test_an_upload_whose_sender_leaves_is_dropped(daemon, tmp_path: Path, sshd) -> None:
    src = make_extension(tmp_path / "ext")
    archive = make_archive(src, tmp_path / "ext.tar.gz").read_bytes()
    state_dir = Path(remote(daemon, "daemon.status")["config"]["paths"]["state_dir"])
    uploads = state_dir / "fleet" / "uploads"
    config = sshd.client_config()
    command = daemon.call("fleet.list")["hosts"]
    cmd = next(h["command"] for h in command if h["name"] == "remote")
    request = ('{"jsonrpc":"2.0","id":1,"method":"fleet.upload.begin","params":{"name":"@acme/tools",'
               f'"version":"2026.01.15.1","checksum":"{"0" * 64}","size":{len(archive)},'
               f'"sha256":"{hashlib.sha256(archive).hexdigest()}"}}}}\n')
    out = subprocess.run(["ssh", "-F", str(config), "-T", "-o", "BatchMode=yes", "fleet-remote", cmd],
                         input=request, capture_output=True, text=True, timeout=60)
    assert '"upload"' in out.stdout, out
    from tests.conftest import wait_until

    wait_until(lambda: not list(uploads.iterdir()), 30, "the abandoned upload to be dropped")


# -- secrets ---------------------------------------------------------------------------------------


@pytest.fixture
def remote_repo(remote_home, sshd) -> Path:
    """A swamp repo on the remote side (owned by its user) with a local_encryption vault `team`."""
    root = remote_home.path / "repo"
    (root / "vaults" / "local_encryption").mkdir(parents=True)
    (root / ".swamp.yaml").write_text("swampRepo: true\n")
    vid = str(uuid.uuid4())
    (root / "vaults" / "local_encryption" / f"{vid}.yaml").write_text(yaml.safe_dump(
        {"id": vid, "name": "team", "type": "local_encryption", "config": {"auto_generate": True},
         "createdAt": "2026-11-01T10:00:00.000Z"}, sort_keys=False))
    account = sshd.account
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in [dirpath, *(os.path.join(dirpath, f) for f in filenames)]:
            os.chown(name, account.pw_uid, account.pw_gid)
    return root


@pytest.mark.keyring
def test_a_secret_push_is_audited_on_both_sides_and_leaks_nowhere(daemon, remote_repo: Path, remote_home,
                                                                   sshd) -> None:
    value = f"s3cr3t-{uuid.uuid4().hex}"
    daemon.call("vault.put", {"vault": "host", "key": "DEPLOY_TOKEN", "value": value})
    with daemon.client() as client:
        client.subscribe(["*"])
        result, progress = push_with_progress(daemon, {
            "host": "remote", "secret": "host/DEPLOY_TOKEN", "to_vault": "team", "to_repo": str(remote_repo)})
        events = []
        while True:
            try:
                events.append(client.next_notification(timeout=1))
            except TimeoutError:
                break
        ssh_pids = _ssh_children(daemon.pid)
        exposed = [_proc_text(pid) for pid in ssh_pids + _relay_pids(remote_home)]
    assert result["status"] == "stored" and result["remote"]["vaultName"] == "team"
    assert value not in repr(result)
    got = remote(daemon, "vault.get", {"vault": "team", "key": "DEPLOY_TOKEN", "repo": str(remote_repo),
                                       "reveal": True})
    assert got["value"] == value
    there = remote(daemon, "vault.audit", {"vault": "team", "key": "DEPLOY_TOKEN", "repo": str(remote_repo)})
    puts = [e for e in there["entries"] if e["action"] == "put"]
    assert puts and puts[0]["callerContext"].startswith("swampd:fleet.push:from=")
    here = daemon.call("vault.audit", {"vault": "host", "key": "DEPLOY_TOKEN"})
    reads = [e for e in here["entries"] if e["action"] == "get"]
    assert reads and reads[-1]["callerContext"].startswith("swampd:fleet.push:to=remote")
    # never in argv, environments, logs, events, progress
    assert ssh_pids and exposed and all(value not in text for text in exposed)
    logs = [daemon.log(), (remote_home.path / "state" / "swampd.log").read_text(errors="replace"),
            sshd.log.read_text(errors="replace"), repr(events), repr(progress), daemon.stderr()]
    assert all(value not in text for text in logs)
    assert any(e["params"]["data"].get("type") == "fleet.push" for e in events)
    # overwrite is refused without the flag, and says so without the value
    with pytest.raises(RpcError) as exc:
        daemon.call("fleet.push", {"host": "remote", "secret": "host/DEPLOY_TOKEN", "to_vault": "team",
                                   "to_repo": str(remote_repo)})
    assert exc.value.kind == "conflict" and value not in exc.value.message


def _ssh_children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if line.split()[1:] == ["ssh"]]


def _relay_pids(remote_home) -> list[int]:
    marker = f"SWAMPD_HOME={remote_home.path}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                environ = Path(f"/proc/{entry}/environ").read_bytes()
            except OSError:
                continue
            if b"--stdio" in cmdline and marker in environ.split(b"\0"):
                pids.append(int(entry))
    return pids


def _proc_text(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}/cmdline").read_bytes() + Path(f"/proc/{pid}/environ").read_bytes()).decode(
            errors="replace")
    except OSError:
        return ""
