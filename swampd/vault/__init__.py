"""The host vault: keyring-backed host secrets and swamp's local_encryption vaults.

`service.VaultService` is what the daemon builds (`services.vault`); the other modules each
do one job: `envelope` (swamp's on-disk format), `keys` (key material and warm derived
keys), `local_encryption` and `host` + `keyring_backend` (the two backends),
`repo_config` (a repo's `vaults/<type>/<uuid>.yaml`), `metadata` (the index of names and
times, never values), `audit` (swamp's JSONL trail), `rotation` (new values by policy or
refresh command), `settings` (`[vault]` config). See docs/vault.md.
"""
