"""Key material for local_encryption vaults, and the warm cache of derived keys.

Key material follows swamp's rules, first match wins:

1. `config.ssh_key_path`: the base64-decoded PEM body; the file must not be readable by
   group or other; passphrase-protected keys (legacy PEM or OpenSSH) are refused;
2. `~/.ssh/id_rsa` under the same rules, when neither `ssh_key_path` nor `auto_generate`;
3. with `auto_generate`: the raw bytes of `.key` (or `config.key_file`), not trimmed,
   created with O_EXCL (72 chars: two UUIDv4) when missing.

Derived keys (PBKDF2, 100k rounds) are cached in memory per (file, salt, material); they
are never written anywhere and `clear()` drops them with the key material.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from swampd.errors import BackendUnavailable, InvalidInput
from swampd.vault import envelope
from swampd.vault.envelope import Envelope

_OPENSSH_MAGIC = b"openssh-key-v1\0"


@dataclass(frozen=True)
class Material:
    secret: bytes
    fingerprint: str
    """sha256 of the material: tells cache entries of a replaced key file apart."""


def _material(raw: bytes) -> Material:
    return Material(secret=raw, fingerprint=hashlib.sha256(raw).hexdigest())


def read_ssh_key(path: str) -> bytes:
    """The PBKDF2 input swamp takes from an SSH private key file."""
    path = os.path.expanduser(path)
    try:
        st = os.stat(path)
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise InvalidInput(f"SSH key {path} is readable by group or other; chmod 600 it")
        with open(path, encoding="utf-8") as fh:
            content = fh.read()
    except FileNotFoundError:
        raise InvalidInput(f"SSH key {path} does not exist") from None
    except (OSError, UnicodeDecodeError):
        raise BackendUnavailable(f"SSH key {path} cannot be read") from None
    if "Proc-Type: 4,ENCRYPTED" in content:
        raise InvalidInput(f"SSH key {path} is passphrase-protected (legacy PEM); not usable")
    body = "".join(
        line.strip() for line in content.splitlines() if line.strip() and not line.strip().startswith("-----")
    )
    try:
        decoded = base64.b64decode(body)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"SSH key {path} is not a PEM file") from None
    if decoded.startswith(_OPENSSH_MAGIC) and len(decoded) >= len(_OPENSSH_MAGIC) + 4:
        off = len(_OPENSSH_MAGIC)
        n = int.from_bytes(decoded[off : off + 4], "big")
        if off + 4 + n <= len(decoded) and decoded[off + 4 : off + 4 + n] != b"none":
            raise InvalidInput(f"SSH key {path} is passphrase-protected (OpenSSH); not usable")
    return decoded


def _read_nonempty(path: str) -> bytes:
    """Read the key file; while it is empty (its creator is still writing) retry 20 x 5 ms."""
    for _ in range(20):
        try:
            with open(path, "rb") as fh:
                content = fh.read()
        except FileNotFoundError:
            raise
        except OSError:
            raise BackendUnavailable(f"key file {path} cannot be read") from None
        if content:
            return content
        time.sleep(0.005)
    raise BackendUnavailable(f"key file {path} exists but is empty")


def read_or_create_key_file(path: str) -> bytes:
    """Read `.key`; create it with O_EXCL when missing (the loser of a race re-reads it)."""
    try:
        existing = _read_nonempty(path)
    except FileNotFoundError:
        existing = None
    if existing is not None:
        return existing
    generated = (str(uuid.uuid4()) + str(uuid.uuid4())).encode("ascii")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_nonempty(path)
    except OSError:
        raise BackendUnavailable(f"key file {path} cannot be created") from None
    try:
        os.write(fd, generated)
        os.fsync(fd)
    finally:
        os.close(fd)
    return generated


def load_material(config: Mapping[str, Any], default_key_file: str, *, create: bool) -> Material:
    """Key material for one vault's config (see the module docstring for the order)."""
    ssh_key_path = config.get("ssh_key_path")
    auto_generate = bool(config.get("auto_generate"))
    if ssh_key_path:
        try:
            return _material(read_ssh_key(str(ssh_key_path)))
        except (InvalidInput, BackendUnavailable):
            if not auto_generate:
                raise
    elif not auto_generate:
        return _material(read_ssh_key("~/.ssh/id_rsa"))
    key_file = str(config.get("key_file") or default_key_file)
    if not create and not os.path.exists(key_file):
        raise BackendUnavailable(f"key file {key_file} does not exist")
    return _material(read_or_create_key_file(key_file))


class KeyCache:
    """Derived keys and key material in memory, shared by every vault; thread-safe."""

    def __init__(self, max_keys: int = 4096) -> None:
        self._max = max_keys
        self._lock = threading.Lock()
        self._derived: OrderedDict[tuple[str, bytes, str], bytes] = OrderedDict()
        self._material: dict[str, tuple[tuple[int, int, int], Material]] = {}
        self._envelopes: OrderedDict[str, tuple[tuple[int, int, int], envelope.Envelope]] = OrderedDict()
        self.hits = 0
        self.derivations = 0
        self._generation = 0
        """Bumped by clear(): a derivation that started before a lock is not kept after it."""

    def material(self, key_file: str, load: Any) -> Material:
        """Cached material for `key_file`, revalidated by (inode, size, mtime)."""
        try:
            st = os.stat(key_file)
            sig = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            sig = None
        with self._lock:
            cached = self._material.get(key_file)
        if cached is not None and sig is not None and cached[0] == sig:
            return cached[1]
        generation = self.generation()
        material: Material = load()
        try:
            st = os.stat(key_file)
            sig = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            return material
        with self._lock:
            if generation == self._generation:
                self._material[key_file] = (sig, material)
        return material

    def material_if_fresh(self, key_file: str) -> Material | None:
        """Cached material when the key file is unchanged; None otherwise (no file read)."""
        try:
            st = os.stat(key_file)
        except OSError:
            return None
        with self._lock:
            cached = self._material.get(key_file)
        if cached is not None and cached[0] == (st.st_ino, st.st_size, st.st_mtime_ns):
            return cached[1]
        return None

    def derived_if_warm(self, path: str, salt: bytes, material: Material) -> bytes | None:
        ident = (path, salt, material.fingerprint)
        with self._lock:
            key = self._derived.get(ident)
            if key is not None:
                self._derived.move_to_end(ident)
                self.hits += 1
            return key

    def envelope(self, path: str, sig: tuple[int, int, int]) -> envelope.Envelope | None:
        """The envelope (ciphertext, not the value) last read from `path`, if the file is unchanged."""
        with self._lock:
            cached = self._envelopes.get(path)
        return cached[1] if cached is not None and cached[0] == sig else None

    def keep_envelope(self, path: str, sig: tuple[int, int, int], env: Envelope) -> None:
        with self._lock:
            self._envelopes[path] = (sig, env)
            self._envelopes.move_to_end(path)
            while len(self._envelopes) > self._max:
                self._envelopes.popitem(last=False)

    def derived(self, path: str, salt: bytes, material: Material) -> bytes:
        """The AES key for the file at `path` with `salt`: warm, or derived now (slow)."""
        ident = (path, salt, material.fingerprint)
        with self._lock:
            generation = self._generation
            key = self._derived.get(ident)
            if key is not None:
                self._derived.move_to_end(ident)
                self.hits += 1
                return key
        key = envelope.derive_key(material.secret, salt)
        self.remember(path, salt, material, key, generation=generation)
        with self._lock:
            self.derivations += 1
        return key

    def generation(self) -> int:
        with self._lock:
            return self._generation

    def remember(
        self, path: str, salt: bytes, material: Material, key: bytes, *, generation: int | None = None
    ) -> None:
        """Keep the key just used for `path` (unless a clear() came in between); older entries go."""
        with self._lock:
            if generation is not None and generation != self._generation:
                return
            for stale in [k for k in self._derived if k[0] == path and k[1] != salt]:
                del self._derived[stale]
            self._derived[(path, salt, material.fingerprint)] = key
            while len(self._derived) > self._max:
                self._derived.popitem(last=False)

    def forget(self, path: str) -> None:
        with self._lock:
            self._envelopes.pop(path, None)
            for stale in [k for k in self._derived if k[0] == path]:
                del self._derived[stale]

    def clear(self) -> None:
        """Drop every derived key and all key material (vault.lock, daemon stop)."""
        with self._lock:
            self._generation += 1
            self._derived.clear()
            self._material.clear()
            self._envelopes.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._derived)
