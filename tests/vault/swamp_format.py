"""An independent implementation of swamp's local_encryption format, for the tests only.

Written from the reference (swamp-vault-extensions-jobs.md §1.3) with `cryptography`'s
PBKDF2HMAC and AESGCM; it shares no code with `swampd.vault`, so a test that round-trips
through both catches a format mistake on either side.
"""

from __future__ import annotations

import base64
import json
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC


def _key(material: bytes, salt: bytes) -> bytes:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=100_000)
    return kdf.derive(material)


def swamp_encrypt(value: str, material: bytes) -> str:
    """What swamp writes to `<KEY>.enc`: JSON.stringify({iv, data, salt, version: 2}, null, 2)."""
    salt = os.urandom(16)
    iv = os.urandom(12)
    data = AESGCM(_key(material, salt)).encrypt(iv, value.encode("utf-8"), None)
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return (
        "{\n"
        f'  "iv": "{b64(iv)}",\n'
        f'  "data": "{b64(data)}",\n'
        f'  "salt": "{b64(salt)}",\n'
        '  "version": 2\n'
        "}"
    )


def swamp_decrypt(text: str, material: bytes) -> str:
    body = json.loads(text)
    salt = base64.b64decode(body["salt"])
    iv = base64.b64decode(body["iv"])
    data = base64.b64decode(body["data"])
    return AESGCM(_key(material, salt)).decrypt(iv, data, None).decode("utf-8")


def ssh_material(pem_text: str) -> bytes:
    """swamp's PBKDF2 input from an SSH key: the base64 body without the ----- lines."""
    lines = [ln.strip() for ln in pem_text.split("\n")]
    return base64.b64decode("".join(ln for ln in lines if ln and not ln.startswith("-----")))


def write_swamp_secret(repo: str, vault: str, key: str, value: str, material: bytes) -> str:
    d = os.path.join(repo, ".swamp", "secrets", "local_encryption", vault)
    os.makedirs(d, mode=0o700, exist_ok=True)
    path = os.path.join(d, f"{key}.enc")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(swamp_encrypt(value, material))
    return path


def write_swamp_key_file(repo: str, vault: str, material: bytes) -> str:
    d = os.path.join(repo, ".swamp", "secrets", "local_encryption", vault)
    os.makedirs(d, mode=0o700, exist_ok=True)
    path = os.path.join(d, ".key")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(material)
    return path


# Small sync file helpers: tests are async, and reading a fixture file is fine there.
def read_bytes(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def read_text(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def isfile(path: str) -> bool:
    return os.path.isfile(path)


def exists(path: str) -> bool:
    return os.path.exists(path)


def realpath(path: str) -> str:
    return os.path.realpath(path)


def write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
