"""`swamp vault list-keys VAULT --json` (src/libswamp/vaults/list_keys.ts). The log format prints
through swamp's logger (a timestamp per line): it passes."""

from __future__ import annotations

from swampd.front import jsjson
from swampd.front.call import Call, Pass
from swampd.front.context import FrontContext
from swampd.front.render import Answer
from swampd.front.vaults import find_vault, list_keys

PATH = ("vault", "list-keys")
VALUE_OPTIONS = frozenset({"--repo-dir"})
FLAG_OPTIONS: frozenset[str] = frozenset()


def answer(call: Call, ctx: FrontContext) -> Answer:
    if not call.json:
        raise Pass("log_format")
    if len(call.parsed.positionals) != 1:
        raise Pass("arguments")
    name = call.parsed.positionals[0]
    vault = find_vault(ctx.markers.locate(call), name)
    if vault is None:
        raise Pass("vault_not_found")
    keys = list_keys(vault)
    result = Answer()
    result.log(jsjson.stringify({"vaultName": name, "vaultType": vault.type, "secretKeys": keys,
                                 "count": len(keys)}))
    return result
