"""swamp's `local_encryption` file format, byte for byte.

A secret file is 2-space-indented JSON with the keys in this order (what
`JSON.stringify({iv, data, salt, version: 2}, null, 2)` writes, no trailing newline):

    {
      "iv": "<base64 12 bytes>",
      "data": "<base64 ciphertext || 16-byte GCM tag>",
      "salt": "<base64 16 bytes>",
      "version": 2
    }

The AES-256-GCM key is PBKDF2-HMAC-SHA256(key material, salt, 100,000 rounds, 32 bytes);
no associated data. `version` is not checked on read (swamp does not either).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PBKDF2_ROUNDS = 100_000
KEY_BYTES = 32
SALT_BYTES = 16
IV_BYTES = 12
FORMAT_VERSION = 2


class EnvelopeError(Exception):
    """The file is not a readable envelope (malformed JSON, bad base64, missing field)."""


class DecryptError(Exception):
    """The envelope did not decrypt: wrong key material or a tampered file."""


@dataclass(frozen=True)
class Envelope:
    iv: bytes
    data: bytes
    salt: bytes
    version: int = FORMAT_VERSION

    def to_text(self) -> str:
        body = {
            "iv": _b64(self.iv),
            "data": _b64(self.data),
            "salt": _b64(self.salt),
            "version": self.version,
        }
        return json.dumps(body, indent=2, ensure_ascii=False)

    @classmethod
    def from_text(cls, text: str | bytes) -> Envelope:
        try:
            body = json.loads(text)
            iv = base64.b64decode(body["iv"], validate=True)
            data = base64.b64decode(body["data"], validate=True)
            salt = base64.b64decode(body["salt"], validate=True)
            version = body.get("version", 1)
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise EnvelopeError("not a local_encryption envelope") from None
        if len(iv) != IV_BYTES or not isinstance(version, int):
            raise EnvelopeError("not a local_encryption envelope")
        return cls(iv=iv, data=data, salt=salt, version=version)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def derive_key(material: bytes, salt: bytes) -> bytes:
    """PBKDF2-HMAC-SHA256, 100k rounds: slow on purpose; call it off the event loop."""
    return hashlib.pbkdf2_hmac("sha256", material, salt, PBKDF2_ROUNDS, KEY_BYTES)


def new_salt() -> bytes:
    return os.urandom(SALT_BYTES)


def seal(plaintext: bytes, key: bytes, salt: bytes) -> Envelope:
    """Encrypt with a fresh IV under `key` (derived from `salt`)."""
    iv = os.urandom(IV_BYTES)
    return Envelope(iv=iv, data=AESGCM(key).encrypt(iv, plaintext, None), salt=salt)


def open_envelope(envelope: Envelope, key: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(envelope.iv, envelope.data, None)
    except (InvalidTag, ValueError):
        raise DecryptError("the secret did not decrypt with this vault's key") from None
