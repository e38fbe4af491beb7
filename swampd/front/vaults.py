"""A repo's vaults as swamp finds them (YamlVaultConfigRepository, VaultService.fromRepository).

`vaults/**/*.yaml` walked in directory order (@std/fs walk), the first config with the name wins.
The front answers only for repos whose every vault is `local_encryption` (other types load
extensions or reach the network), each config well formed, names unique, `base_dir` (if any) the repo itself.
A local vault's secrets are `.swamp/secrets/local_encryption/<name>/<key>.enc`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from swampd.front import jsyaml
from swampd.front.call import Pass, scan_dir
from swampd.front.repo import Repo

LOCAL = "local_encryption"


@dataclass(frozen=True)
class Vault:
    name: str
    type: str
    audit_reads: bool
    secrets_dir: str


def _walk(directory: str) -> list[str]:
    entries = scan_dir(directory, "vault_io")
    out = []
    for entry in entries:
        if entry.is_symlink():
            raise Pass("vault_symlink")
        if entry.is_dir(follow_symlinks=False):
            out += _walk(entry.path)
        elif entry.name.endswith(".yaml"):
            out.append(entry.path)
    return out


def _config(path: str, repo: Repo) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            data = jsyaml.load(fh.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, jsyaml.YamlError):
        raise Pass("vault_config") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("id", "name", "type", "createdAt")):
        raise Pass("vault_config")
    config = data.get("config", {})
    if not isinstance(config, dict) or config.get("base_dir", repo.path) != repo.path:
        raise Pass("vault_config")  # secrets elsewhere than this repo's .swamp
    if "auditReads" in data and not isinstance(data["auditReads"], bool):
        raise Pass("vault_config")
    return data


def find_vault(repo: Repo, name: str) -> Vault | None:
    """The vault named `name` (None when no config has that name)."""
    configs = [_config(p, repo) for p in _walk(os.path.join(repo.path, "vaults"))]
    names = [c["name"] for c in configs]
    if any(c["type"] != LOCAL for c in configs) or len(set(names)) != len(names):
        raise Pass("vault_types")
    for config in configs:
        if config["name"] == name:
            return Vault(name=name, type=config["type"], audit_reads=bool(config.get("auditReads", False)),
                         secrets_dir=os.path.join(repo.path, ".swamp", "secrets", LOCAL, name))
    return None


def list_keys(vault: Vault) -> list[str]:
    """LocalEncryptionVaultProvider.list: regular files named `*.enc`, JavaScript's default sort."""
    entries = scan_dir(vault.secrets_dir, "vault_io")
    keys = [e.name[:-4] for e in entries if e.is_file(follow_symlinks=False) and e.name.endswith(".enc")]
    return sorted(keys, key=lambda k: k.encode("utf-16-be"))
