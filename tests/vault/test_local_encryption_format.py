"""local_encryption is byte-compatible with swamp, checked against an independent implementation."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from swampd.errors import InvalidInput, InvalidParams, NotFound
from swampd.vault.keys import read_or_create_key_file
from swampd.vault.service import VaultService

from .conftest import Repo
from .swamp_format import (
    exists,
    isfile,
    read_bytes,
    read_text,
    realpath,
    ssh_material,
    swamp_decrypt,
    swamp_encrypt,
    write_swamp_key_file,
    write_swamp_secret,
    write_text,
)

pytestmark = pytest.mark.anyio

MATERIAL = b"1b4e28ba-2fa1-41d2-883f-0016d3cca427" + b"6fa459ea-ee8a-4ca4-894e-db77e160355e"


def mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def test_reads_a_secret_swamp_wrote(service: VaultService, repo: Repo) -> None:
    write_swamp_key_file(repo.root, "dev", MATERIAL)
    write_swamp_secret(repo.root, "dev", "API_TOKEN", "s3cr3t-from-swamp ✓", MATERIAL)
    reply = await service.get("dev", "API_TOKEN", reveal=True)
    assert reply["value"] == "s3cr3t-from-swamp ✓"
    assert reply["vaultType"] == "local_encryption"
    assert reply["repo"] == realpath(repo.root)


async def test_swamp_reads_a_secret_swampd_wrote(service: VaultService, repo: Repo) -> None:
    await service.put("dev", "DB_PASSWORD", "written by swampd: p@ss\nline2")
    d = repo.secrets_dir("dev")
    material = read_bytes(os.path.join(d, ".key"))
    text = read_text(os.path.join(d, "DB_PASSWORD.enc"))
    assert swamp_decrypt(text, material) == "written by swampd: p@ss\nline2"


async def test_file_layout_and_envelope_bytes(service: VaultService, repo: Repo) -> None:
    await service.put("dev", "K", "value")
    d = repo.secrets_dir("dev")
    key_file = os.path.join(d, ".key")
    enc = os.path.join(d, "K.enc")
    # .key: two UUIDv4 strings, 72 ASCII chars, no newline, 0600; dirs 0700; secret 0600.
    material = read_bytes(key_file)
    assert len(material) == 72 and material.isascii() and not material.endswith(b"\n")
    assert mode(key_file) == 0o600
    assert mode(enc) == 0o600
    for sub in (d, os.path.dirname(d), os.path.dirname(os.path.dirname(d))):
        assert mode(sub) == 0o700, sub
    text = read_text(enc)
    body = json.loads(text)
    assert list(body) == ["iv", "data", "salt", "version"]
    assert body["version"] == 2
    assert len(base64.b64decode(body["iv"])) == 12
    assert len(base64.b64decode(body["salt"])) == 16
    assert len(base64.b64decode(body["data"])) == len(b"value") + 16
    # 2-space indentation, no trailing newline: exactly JSON.stringify(obj, null, 2).
    expected = (
        "{\n"
        f'  "iv": "{body["iv"]}",\n  "data": "{body["data"]}",\n'
        f'  "salt": "{body["salt"]}",\n  "version": 2\n}}'
    )
    assert text == expected


async def test_each_write_uses_a_fresh_salt_and_iv(service: VaultService, repo: Repo) -> None:
    await service.put("dev", "K", "same")
    first = json.loads(read_text(os.path.join(repo.secrets_dir("dev"), "K.enc")))
    await service.put("dev", "K", "same", overwrite=True)
    second = json.loads(read_text(os.path.join(repo.secrets_dir("dev"), "K.enc")))
    assert first["salt"] != second["salt"] and first["iv"] != second["iv"]


async def test_base_dir_from_another_checkout_is_ignored(service: VaultService, repo: Repo, tmp_path) -> None:
    # The vault config says base_dir: /somewhere/else/old-checkout (as after a re-clone).
    await service.put("dev", "K", "v")
    assert isfile(os.path.join(repo.secrets_dir("dev"), "K.enc"))
    assert not exists("/somewhere/else/old-checkout")


async def test_explicit_repo_from_a_subdirectory_uses_the_repo_root(
    make_service, repo: Repo, tmp_path
) -> None:
    svc = make_service([])  # nothing registered: the repo comes as a param
    sub = os.path.join(repo.root, "models", "deep")
    os.makedirs(sub)
    await svc.put("dev", "K", "v", repo=sub)
    assert isfile(os.path.join(repo.secrets_dir("dev"), "K.enc"))
    assert (await svc.get("dev", "K", repo=repo.root, reveal=True))["value"] == "v"


async def test_list_sorted_without_values(service: VaultService, repo: Repo) -> None:
    for key in ("b", "a", "c"):
        await service.put("dev", key, f"value-of-{key}")
    listing = await service.list("dev")
    (vault,) = listing["vaults"]
    assert [k["key"] for k in vault["keys"]] == ["a", "b", "c"]
    assert vault["keys"][0]["sizeBytes"] == len("value-of-a")
    assert "value-of" not in json.dumps(listing)


async def test_ssh_key_material(make_service, repo: Repo, tmp_path) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    key_path = tmp_path / "id_test"
    key_path.write_text(pem)
    key_path.chmod(0o600)
    repo.add_vault("ssh", {"ssh_key_path": str(key_path)})
    material = ssh_material(pem)
    write_swamp_secret(repo.root, "ssh", "FROM_SWAMP", "ssh-protected", material)
    svc = make_service([repo.root])
    assert (await svc.get("ssh", "FROM_SWAMP", reveal=True))["value"] == "ssh-protected"
    await svc.put("ssh", "FROM_SWAMPD", "back")
    assert swamp_decrypt(read_text(os.path.join(repo.secrets_dir("ssh"), "FROM_SWAMPD.enc")), material) == "back"

    key_path.chmod(0o640)
    svc2 = make_service([repo.root])
    with pytest.raises(InvalidInput, match="group or other"):
        await svc2.get("ssh", "FROM_SWAMP", reveal=True)


def _openssh_encrypted_pem() -> str:
    """An OpenSSH private key container whose cipher is aes256-ctr (body beyond it is filler)."""

    def sstr(raw: bytes) -> bytes:
        return len(raw).to_bytes(4, "big") + raw

    body = b"openssh-key-v1\0" + sstr(b"aes256-ctr") + sstr(b"bcrypt") + sstr(b"x" * 24) + b"\0" * 64
    b64 = base64.b64encode(body).decode()
    lines = [b64[i : i + 70] for i in range(0, len(b64), 70)]
    return "-----BEGIN OPENSSH PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END OPENSSH PRIVATE KEY-----\n"


def _legacy_encrypted_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(b"passphrase"),
    ).decode()


@pytest.mark.parametrize("make_pem", [_openssh_encrypted_pem, _legacy_encrypted_pem])
async def test_passphrase_protected_ssh_key_is_refused(make_service, repo: Repo, tmp_path, make_pem) -> None:
    key_path = tmp_path / "id_enc"
    key_path.write_text(make_pem())
    key_path.chmod(0o600)
    repo.add_vault("enc", {"ssh_key_path": str(key_path)})
    svc = make_service([repo.root])
    with pytest.raises(InvalidInput, match="passphrase"):
        await svc.put("enc", "K", "v")


async def test_wrong_key_is_a_clean_error(service: VaultService, repo: Repo) -> None:
    write_swamp_key_file(repo.root, "dev", MATERIAL)
    write_swamp_secret(repo.root, "dev", "K", "wrong-key-plaintext", b"some other key material" * 3)
    with pytest.raises(InvalidInput) as err:
        await service.get("dev", "K", reveal=True)
    assert "does not decrypt" in err.value.message
    assert "wrong-key-plaintext" not in repr(err.value.to_error())


async def test_missing_secret_and_missing_vault(service: VaultService) -> None:
    with pytest.raises(NotFound):
        await service.get("dev", "NOPE", reveal=True)
    with pytest.raises(NotFound):
        await service.get("no-such-vault", "K", reveal=True)


async def test_unsafe_keys_are_refused(service: VaultService) -> None:
    for bad in ("../x", "a/b", "a\\b", "a\0b", ""):
        with pytest.raises(InvalidInput):
            await service.put("dev", bad, "v")


def _names_under(directory: str) -> list[str]:
    return [name for _, dirs, files in os.walk(directory) for name in dirs + files]


async def test_a_key_with_equals_is_refused_without_repeating_it(service: VaultService, repo: Repo) -> None:
    """issue 10 #6: `KEY=VALUE` typed as a key would put the secret into a file name and the audit trail."""
    with pytest.raises(InvalidInput) as err:
        await service.put("dev", "API_KEY=sk-inline-secret", "")
    assert "sk-inline-secret" not in repr(err.value.to_error())
    assert not _names_under(repo.secrets_dir("dev"))
    assert (await service.list("dev"))["vaults"][0]["keys"] == []


async def test_an_empty_value_needs_allow_empty(service: VaultService) -> None:
    with pytest.raises(InvalidParams) as err:
        await service.put("dev", "EMPTY", "")
    assert err.value.data["param"] == "value"
    with pytest.raises(NotFound):
        await service.get("dev", "EMPTY", reveal=True)
    await service.put("dev", "EMPTY", "", allow_empty=True)
    assert (await service.get("dev", "EMPTY", reveal=True))["value"] == ""


async def test_a_key_with_equals_stored_earlier_can_still_be_read_and_removed(
    service: VaultService, repo: Repo
) -> None:
    """Keys the old bug stored (or swamp's 3-argument form did) stay reachable, so they can be cleaned up."""
    await service.put("dev", "PLAIN", "v")
    plain = os.path.join(repo.secrets_dir("dev"), "PLAIN.enc")
    os.rename(plain, os.path.join(repo.secrets_dir("dev"), "A=B.enc"))
    assert (await service.get("dev", "A=B", reveal=True))["value"] == "v"
    assert (await service.delete("dev", "A=B"))["secretKey"] == "A=B"


def test_key_file_creation_race(tmp_path) -> None:
    path = str(tmp_path / ".key")
    results: list[bytes] = []
    barrier = threading.Barrier(16)

    def worker() -> None:
        barrier.wait()
        results.append(read_or_create_key_file(path))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and len(results[0]) == 72
    assert mode(path) == 0o600


@settings(max_examples=20, deadline=None)
@given(value=st.text(max_size=200), material=st.binary(min_size=1, max_size=80))
def test_envelope_roundtrips_with_the_independent_implementation(value: str, material: bytes) -> None:
    from swampd.vault import envelope

    salt = envelope.new_salt()
    ours = envelope.seal(value.encode("utf-8"), envelope.derive_key(material, salt), salt).to_text()
    assert swamp_decrypt(ours, material) == value
    theirs = envelope.Envelope.from_text(swamp_encrypt(value, material))
    assert envelope.open_envelope(theirs, envelope.derive_key(material, theirs.salt)).decode("utf-8") == value


async def test_honours_a_refresh_hook_swamp_wrote(service: VaultService, repo: Repo) -> None:
    write_swamp_key_file(repo.root, "dev", MATERIAL)
    write_swamp_secret(repo.root, "dev", "HOOKED", "stale", MATERIAL)
    hook = {"command": "echo from-swamp-hook", "ttlMs": 3000000, "ttl": "50m", "lastRefreshedAt": None}
    refresh_dir = os.path.join(repo.secrets_dir("dev"), ".refresh")
    os.makedirs(refresh_dir, mode=0o700)
    write_text(os.path.join(refresh_dir, "HOOKED.enc"), swamp_encrypt(json.dumps(hook), MATERIAL))
    assert (await service.get("dev", "HOOKED", reveal=True))["value"] == "from-swamp-hook"
    stored = json.loads(swamp_decrypt(read_text(os.path.join(refresh_dir, "HOOKED.enc")), MATERIAL))
    assert stored["command"] == "echo from-swamp-hook" and stored["lastRefreshedAt"].endswith("Z")
    secret = read_text(os.path.join(repo.secrets_dir("dev"), "HOOKED.enc"))
    assert swamp_decrypt(secret, MATERIAL) == "from-swamp-hook"
