"""`swamp data versions MODEL NAME [--json]` (src/libswamp/data/versions.ts; both output formats print
the same JSON, src/presentation/renderers/data_versions.ts)."""

from __future__ import annotations

import os

from swampd.front import jsjson
from swampd.front.call import Call
from swampd.front.context import FrontContext
from swampd.front.lookup import model_and_name, model_of
from swampd.front.render import Answer, user_error
from swampd.front.store import SwampStore

PATH = ("data", "versions")
VALUE_OPTIONS = frozenset({"--repo-dir", "--model", "--name"})
FLAG_OPTIONS: frozenset[str] = frozenset()


def answer(call: Call, ctx: FrontContext) -> Answer:
    model, name = model_and_name(call)
    repo = ctx.markers.locate(call)
    definition, model_type, model_dir = model_of(call, ctx, repo, model)
    numbers = SwampStore.list_versions(os.path.join(model_dir, name))
    if not numbers:
        return user_error(call, f'Data not found: "{name}" for model "{model}"')
    latest = max(numbers)
    versions = []
    for number in numbers:
        item = ctx.store.find_by_name(model_dir, name, number)
        if item is None:
            continue
        entry: dict[str, object] = {"version": item.version, "createdAt": item.created_at}
        if item.size is not None:
            entry["size"] = item.size
        if item.checksum is not None:
            entry["checksum"] = item.checksum
        entry["isLatest"] = number == latest
        versions.append(entry)
    versions.sort(key=lambda v: -v["version"])  # type: ignore[operator]
    result = Answer()
    result.log(jsjson.stringify({"dataName": name, "modelId": definition.id, "modelName": definition.name,
                                 "modelType": model_type, "versions": versions, "total": len(versions)}))
    return result
