"""One swamp `local_encryption` vault of one repo, read and written like swamp does.

    <repo>/.swamp/secrets/local_encryption/<vault-name>/      0700
      .key                    key material (auto_generate), 0600, created with O_EXCL
      <KEY>.enc               envelope of the value, 0600, atomic write
      .annotations/<KEY>.enc  envelope of the annotation JSON
      .refresh/<KEY>.enc      envelope of the refresh-hook JSON

The secrets directory always hangs off the actual repo root: a `base_dir` in the vault
config (an absolute path from whichever checkout ran `swamp vault create`) is ignored.
Every method here blocks (file IO, PBKDF2): call them through `anyio.to_thread.run_sync`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from swampd.atomic_file import write_atomic
from swampd.errors import BackendUnavailable, InvalidInput, NotFound
from swampd.vault import envelope
from swampd.vault.keys import KeyCache, Material, load_material

VAULT_TYPE = "local_encryption"
ANNOTATIONS_DIR = ".annotations"
REFRESH_DIR = ".refresh"


def validate_key(key: str) -> str:
    """swamp's rule: a key may not contain '..', '/', '\\' or NUL (and may not be empty)."""
    if not isinstance(key, str) or not key or any(s in key for s in ("..", "/", "\\", "\0")):
        raise InvalidInput("a secret key must be non-empty without '..', '/', '\\' or NUL")
    return key


MAX_KEY_BYTES = 255 - len(".enc")
"""swamp stores a key as the file `KEY.enc` (and `.annotations/KEY.enc`): a file name holds 255 bytes."""


def validate_new_key(key: str) -> str:
    """A key about to be written: swamp's rule, no `=`, and short enough to be a file name.

    swamp's `vault put VAULT KEY=VALUE` splits at the first `=`, so a stored key with `=` in
    it is almost always a value typed inline by mistake. The message never repeats the key:
    it may be that secret. The length rule holds for the host vault too, so that any key can
    move to a repo vault (and nothing stored under a longer key before becomes unreachable:
    reads and deletes take any key swamp's rule allows).
    """
    validate_key(key)
    if "=" in key:
        raise InvalidInput("a secret key may not contain '=' (KEY=VALUE is a key and its value)")
    size = len(key.encode("utf-8"))
    if size > MAX_KEY_BYTES:
        raise InvalidInput(f"a secret key may be at most {MAX_KEY_BYTES} bytes (UTF-8), this one has {size}: "
                           "swamp stores it as the file KEY.enc and a file name holds 255 bytes")
    return key


def secrets_dir(repo_root: str, vault_name: str) -> str:
    return os.path.join(repo_root, ".swamp", "secrets", VAULT_TYPE, vault_name)


def _mkdirs_0700(path: str, stop: str) -> None:
    """Create `path` and its missing parents below `stop`, each with mode 0700."""
    missing = []
    cur = path
    while not os.path.isdir(cur) and cur != stop and cur != os.path.dirname(cur):
        missing.append(cur)
        cur = os.path.dirname(cur)
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            pass


def atomic_write(path: str, text: str) -> None:
    """Write `text` to a 0600 temp file beside `path`, fsync, rename over `path`."""
    write_atomic(path, text.encode("utf-8"), 0o600, sync_dir=False)


class LocalEncryptionVault:
    """Reads and writes one vault's files; shares derived keys through a `KeyCache`."""

    vault_type = VAULT_TYPE

    def __init__(self, name: str, repo_root: str, config: Mapping[str, Any], keys: KeyCache) -> None:
        self.name = name
        self.repo_root = os.path.realpath(repo_root)
        self.config = {k: v for k, v in config.items() if k != "base_dir"}
        self.dir = secrets_dir(self.repo_root, name)
        self._keys = keys
        self._safe_dirs: set[str] = set()

    # -- paths and key material ------------------------------------------------------

    def _path(self, key: str, sub: str | None = None) -> str:
        """`<dir>[/<sub>]/<key>.enc`; the directory must resolve inside the repo's `.swamp`.

        The key cannot name another directory (validate_key), files are opened with
        O_NOFOLLOW, and a directory that passed the check once is trusted from then on.
        """
        validate_key(key)
        base = self.dir if sub is None else os.path.join(self.dir, sub)
        if base not in self._safe_dirs:
            boundary = os.path.realpath(os.path.join(self.repo_root, ".swamp"))
            if not os.path.realpath(base).startswith(boundary + os.sep):
                raise InvalidInput(f"vault {self.name}: the secrets dir leaves the repo's .swamp dir")
            if os.path.isdir(base):
                self._safe_dirs.add(base)
        return os.path.join(base, f"{key}.enc")

    @property
    def key_file(self) -> str:
        key_file = self.config.get("key_file")
        if key_file:
            return os.path.join(self.repo_root, os.path.expanduser(str(key_file)))
        return os.path.join(self.dir, ".key")

    def _material_source(self) -> str:
        ssh = self.config.get("ssh_key_path")
        if ssh:
            return os.path.expanduser(str(ssh))
        if not self.config.get("auto_generate"):
            return os.path.expanduser("~/.ssh/id_rsa")
        return self.key_file

    def _material(self, *, create: bool) -> Material:
        if create and self.config.get("auto_generate"):
            self._ensure_dir(self.dir)
        config = dict(self.config)
        if config.get("key_file"):
            config["key_file"] = self.key_file
        return self._keys.material(
            self._material_source(),
            lambda: load_material(config, self.key_file, create=create),
        )

    def _ensure_dir(self, path: str) -> None:
        try:
            _mkdirs_0700(path, self.repo_root)
        except OSError:
            raise BackendUnavailable(f"vault {self.name}: cannot create {path}") from None

    # -- envelopes -------------------------------------------------------------------

    def _read_envelope(self, path: str) -> envelope.Envelope | None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            with os.fdopen(fd, encoding="utf-8") as fh:
                st = os.fstat(fh.fileno())
                text = fh.read()
        except FileNotFoundError:
            self._keys.forget(path)
            return None
        except (OSError, UnicodeDecodeError):
            raise BackendUnavailable(f"vault {self.name}: {os.path.basename(path)} cannot be read") from None
        try:
            env = envelope.Envelope.from_text(text)
        except envelope.EnvelopeError:
            raise InvalidInput(
                f"vault {self.name}: {os.path.basename(path)} is not a swamp envelope"
            ) from None
        self._keys.keep_envelope(path, (st.st_ino, st.st_size, st.st_mtime_ns), env)
        return env

    def _decrypt(self, path: str, env: envelope.Envelope) -> bytes:
        material = self._material(create=False)
        key = self._keys.derived(path, env.salt, material)
        try:
            return envelope.open_envelope(env, key)
        except envelope.DecryptError:
            self._keys.forget(path)
            raise InvalidInput(
                f"vault {self.name}: {os.path.basename(path)} does not decrypt with this vault's key"
            ) from None

    def _encrypt_to(self, path: str, plaintext: bytes) -> None:
        generation = self._keys.generation()
        material = self._material(create=True)
        salt = envelope.new_salt()
        key = envelope.derive_key(material.secret, salt)
        env = envelope.seal(plaintext, key, salt)
        text = env.to_text()
        self._ensure_dir(os.path.dirname(path))
        try:
            atomic_write(path, text)
        except OSError:
            raise BackendUnavailable(f"vault {self.name}: cannot write {os.path.basename(path)}") from None
        self._keys.remember(path, salt, material, key, generation=generation)
        try:
            st = os.stat(path, follow_symlinks=False)
            self._keys.keep_envelope(path, (st.st_ino, st.st_size, st.st_mtime_ns), env)
        except OSError:
            pass

    # -- the provider contract -------------------------------------------------------

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))

    def get(self, key: str) -> str:
        path = self._path(key)
        env = self._read_envelope(path)
        if env is None:
            raise NotFound(f"secret {key} not found in vault {self.name}")
        try:
            return self._decrypt(path, env).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"vault {self.name}: secret {key} is not UTF-8 text") from None

    def get_warm(self, key: str) -> str | None:
        """The value when its envelope and derived key are both in memory, else None.

        Cheap enough for the event loop: two stat calls and an AES-GCM decrypt; no secret
        bytes are read from disk and nothing is derived. The envelope (ciphertext only) is
        revalidated by the file's inode, size and mtime.
        """
        path = self._path(key)
        if self.dir not in self._safe_dirs:
            return None
        try:
            st = os.stat(path, follow_symlinks=False)
        except OSError:
            return None
        if os.path.lexists(os.path.join(self.dir, REFRESH_DIR, f"{key}.enc")):
            return None  # a refresh hook may be due: the slow path checks it
        env = self._keys.envelope(path, (st.st_ino, st.st_size, st.st_mtime_ns))
        if env is None:
            return None
        material = self._keys.material_if_fresh(self._material_source())
        if material is None:
            return None
        key_bytes = self._keys.derived_if_warm(path, env.salt, material)
        if key_bytes is None:
            return None
        try:
            return envelope.open_envelope(env, key_bytes).decode("utf-8")
        except (envelope.DecryptError, UnicodeDecodeError):
            return None  # the slow path reports it properly

    def put(self, key: str, value: str) -> None:
        self._encrypt_to(self._path(key), value.encode("utf-8"))

    def delete(self, key: str) -> bool:
        """Remove the secret, its annotation and its refresh hook; False when absent."""
        existed = False
        for sub in (None, ANNOTATIONS_DIR, REFRESH_DIR):
            path = self._path(key, sub)
            try:
                os.unlink(path)
                existed = existed or sub is None
            except FileNotFoundError:
                pass
            except OSError:
                raise BackendUnavailable(f"vault {self.name}: cannot delete {key}") from None
            self._keys.forget(path)
        return existed

    def list(self) -> list[str]:
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            return []
        except OSError:
            raise BackendUnavailable(f"vault {self.name}: cannot list {self.dir}") from None
        return sorted(
            n[:-4] for n in names if n.endswith(".enc") and os.path.isfile(os.path.join(self.dir, n))
        )

    def describe(self, key: str) -> dict[str, Any]:
        """Metadata without decrypting: size from the ciphertext (GCM adds a 16-byte tag)."""
        path = self._path(key)
        env = self._read_envelope(path)
        if env is None:
            raise NotFound(f"secret {key} not found in vault {self.name}")
        st = os.stat(path)
        return {
            "sizeBytes": max(len(env.data) - 16, 0),
            "updatedAt": st.st_mtime,
            "hasAnnotation": os.path.isfile(self._path(key, ANNOTATIONS_DIR)),
            "hasRefreshHook": os.path.isfile(self._path(key, REFRESH_DIR)),
        }

    # -- annotations and refresh hooks (JSON in the same envelope) -------------------

    def _get_json(self, key: str, sub: str) -> dict[str, Any] | None:
        path = self._path(key, sub)
        env = self._read_envelope(path)
        if env is None:
            return None
        try:
            data = json.loads(self._decrypt(path, env))
        except ValueError:
            raise InvalidInput(f"vault {self.name}: {sub}/{key}.enc is not JSON") from None
        return data if isinstance(data, dict) else None

    def _put_json(self, key: str, sub: str, data: Mapping[str, Any]) -> None:
        self._encrypt_to(
            self._path(key, sub), json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        )

    def get_annotation(self, key: str) -> dict[str, Any] | None:
        return self._get_json(key, ANNOTATIONS_DIR)

    def put_annotation(self, key: str, annotation: Mapping[str, Any]) -> None:
        self._put_json(key, ANNOTATIONS_DIR, annotation)

    def get_refresh_hook(self, key: str) -> dict[str, Any] | None:
        return self._get_json(key, REFRESH_DIR)

    def put_refresh_hook(self, key: str, hook: Mapping[str, Any]) -> None:
        self._put_json(key, REFRESH_DIR, hook)
