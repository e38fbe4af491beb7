"""`swamp data get MODEL NAME [--version N] [--no-content] [--json]` (src/libswamp/data/get.ts,
src/presentation/renderers/data_get.ts). Workflow-scoped gets (`--workflow`, `--run`) pass."""

from __future__ import annotations

import os

from swampd.front import jsjson
from swampd.front.call import Call
from swampd.front.context import FrontContext
from swampd.front.lookup import model_and_name, model_of, positive_int
from swampd.front.render import Answer, format_size, user_error

PATH = ("data", "get")
VALUE_OPTIONS = frozenset({"--repo-dir", "--model", "--name", "--version"})
FLAG_OPTIONS = frozenset({"--no-content"})


def answer(call: Call, ctx: FrontContext) -> Answer:
    model, name = model_and_name(call)
    options = call.parsed.options
    version = positive_int(options.get("--version"))
    include_content = not options.get("--no-content")
    repo = ctx.markers.locate(call)
    definition, model_type, model_dir = model_of(call, ctx, repo, model)
    item = ctx.store.find_by_name(model_dir, name, version)
    if item is None:
        suffix = f" (version {version})" if version else ""
        return user_error(call, f'Data not found: "{name}" for model "{model}"{suffix}')
    content_path = os.path.join(model_dir, item.name, str(item.version), "raw")
    data: dict[str, object] = {
        "id": item.id, "name": item.name, "modelId": definition.id, "modelName": definition.name,
        "modelType": model_type, "version": item.version, "contentType": item.content_type,
        "lifetime": item.lifetime, "garbageCollection": item.garbage_collection, "streaming": item.streaming,
        "tags": item.tags, "ownerDefinition": item.owner, "createdAt": item.created_at,
    }
    if item.size is not None:
        data["size"] = item.size
    if item.checksum is not None:
        data["checksum"] = item.checksum
    data["contentPath"] = os.path.relpath(content_path, repo.path)
    if include_content:
        raw = ctx.store.content(model_dir, item.name, item.version)
        if raw is not None:
            data["content"] = jsjson.text_decode(raw)
    return _render_json(data) if call.json else _render_log(data)


def _parsed_json(content: object) -> object:
    if not isinstance(content, str):
        raise jsjson.NotJson("not text")
    return jsjson.parse(content)


def _render_json(data: dict[str, object]) -> Answer:
    out = dict(data)
    if data.get("content") and data["contentType"] == "application/json":
        try:
            out["content"] = _parsed_json(data["content"])
        except jsjson.NotJson:
            pass
    answer = Answer()
    answer.log(jsjson.stringify(out))
    return answer


def _render_log(data: dict[str, object]) -> Answer:
    answer = Answer()
    answer.log(f"Data: {data['name']} (v{data['version']})")
    answer.log(f"Model: {data['modelName']} ({data['modelType']})")
    answer.log(f"Content: {data['contentType']}, {format_size(data.get('size'), 'unknown')}")  # type: ignore[arg-type]
    answer.log(f"Lifetime: {data['lifetime']} | GC: {_js_string(data['garbageCollection'])}")
    tags = data["tags"]
    assert isinstance(tags, dict)
    if tags:
        answer.log("Tags: " + ", ".join(f"{k}={tags[k]}" for k in jsjson.js_keys(tags)))
    owner = data["ownerDefinition"]
    assert isinstance(owner, dict)
    answer.log(f"Owner: {owner['ownerType']} ({owner['ownerRef']})")
    answer.log(f"Created: {data['createdAt']}")
    answer.log(f"Path: {data['contentPath']}")
    if "content" in data:
        content = data["content"]
        assert isinstance(content, str)
        answer.log("")
        if data["contentType"] == "application/json":
            try:
                answer.log(jsjson.stringify(_parsed_json(content)))
            except jsjson.NotJson:
                answer.log(content)
        else:
            answer.log(content)
    return answer


def _js_string(value: object) -> str:
    return jsjson.js_number(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
