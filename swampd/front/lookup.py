"""Steps several accelerated commands share: the model by name, option values as Cliffy reads them."""

from __future__ import annotations

import re

from swampd.front.call import Call, Pass
from swampd.front.context import FrontContext
from swampd.front.definitions import Definition
from swampd.front.repo import Repo
from swampd.front.store import SwampStore


def model_of(call: Call, ctx: FrontContext, repo: Repo, model: str) -> tuple[Definition, str, str]:
    """(definition, normalized type, model data dir) of a model named `model`; Pass when not found by name
    (swamp then tries ids across its registered types, which the front does not know)."""
    found = ctx.definitions.find_by_name(repo.path, model, strict=not call.json)
    if found is None:
        raise Pass("model_not_found")
    definition, model_type = found
    return definition, model_type, SwampStore.model_dir(repo.data_dir, model_type, definition.id)


def model_and_name(call: Call) -> tuple[str, str]:
    """`[model] [data_name]` positionals or `--model`/`--name` (the options win, as in swamp)."""
    options, positionals = call.parsed.options, call.parsed.positionals
    if len(positionals) > 2:
        raise Pass("arguments")
    model = options.get("--model", positionals[0] if positionals else None)
    name = options.get("--name", positionals[1] if len(positionals) > 1 else None)
    if not isinstance(model, str) or not isinstance(name, str) or not model or not name:
        raise Pass("arguments")  # swamp's usage errors: it says them itself
    return model, name


def positive_int(value: object) -> int | None:
    """A `<n:number>` option given as plain digits (anything else passes)."""
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[1-9][0-9]{0,14}", value):
        raise Pass("option_value")
    return int(value)
