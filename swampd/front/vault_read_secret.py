"""`swamp vault read-secret VAULT KEY` with `--json`, or `--force`/`-f`/`-y`/`--yes` in the log format
(src/libswamp/vaults/read_secret.ts, src/presentation/renderers/vault_read_secret.ts).

The value comes from the daemon's vault with its warm keys (no key derivation per call). swamp
records a read in the audit trail only for a vault with `auditReads: true`: those pass, as do keys
with an annotation (a refresh hook may run), so the trail stays exactly swamp's.
"""

from __future__ import annotations

import os

from swampd import workers
from swampd.front import jsjson
from swampd.front.call import Call, Pass
from swampd.front.context import FrontContext
from swampd.front.render import Answer
from swampd.front.vaults import find_vault

PATH = ("vault", "read-secret")
VALUE_OPTIONS = frozenset({"--repo-dir"})
FLAG_OPTIONS = frozenset({"--yes", "-y", "--force", "-f"})
ASYNC = True
CALLER = "cli:vault-read-secret"


def _plan(call: Call, ctx: FrontContext) -> tuple[str, str, str, str]:
    positionals = call.parsed.positionals
    if len(positionals) != 2 or not all(positionals):
        raise Pass("arguments")
    if not call.json and not any(call.parsed.options.get(f) for f in FLAG_OPTIONS):
        raise Pass("confirmation")  # swamp asks before revealing
    name, key = positionals
    repo = ctx.markers.locate(call)
    vault = find_vault(repo, name)
    if vault is None:
        raise Pass("vault_not_found")
    if vault.audit_reads:
        raise Pass("audited_vault")
    if os.path.lexists(os.path.join(vault.secrets_dir, ".annotations", f"{key}.enc")):
        raise Pass("annotated_key")
    if not os.path.isfile(os.path.join(vault.secrets_dir, f"{key}.enc")):
        raise Pass("secret_not_found")  # swamp's message carries the provider's own error text
    return repo.path, name, key, vault.type


async def answer(call: Call, ctx: FrontContext) -> Answer:
    if ctx.reveal is None:
        raise Pass("no_vault")
    repo, name, key, vault_type = await workers.run_sync(_plan, call, ctx)
    value = await ctx.reveal(name, key, repo, CALLER)
    result = Answer()
    if call.json:
        result.log(jsjson.stringify({"vaultName": name, "secretKey": key, "vaultType": vault_type, "value": value}))
    elif call.ttys[1]:
        result.log(value)
    else:
        result.stdout.append(value)  # piped: the bare value, no newline
    return result
