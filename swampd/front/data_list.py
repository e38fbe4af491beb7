"""`swamp data list MODEL [--type T] [--json]` (src/libswamp/data/list.ts,
src/presentation/renderers/data_list.ts). Workflow-scoped lists (`--workflow`, `--run`) pass."""

from __future__ import annotations

from swampd.front import jsjson
from swampd.front.call import Call, Pass
from swampd.front.context import FrontContext
from swampd.front.lookup import model_of
from swampd.front.render import Answer, check_locale, format_size, locale_sorted

PATH = ("data", "list")
VALUE_OPTIONS = frozenset({"--repo-dir", "--model", "--type"})
FLAG_OPTIONS: frozenset[str] = frozenset()
STANDARD_TYPES = ("log", "file", "resource", "data")
DEFAULT_COLUMNS = 80


def answer(call: Call, ctx: FrontContext) -> Answer:
    options, positionals = call.parsed.options, call.parsed.positionals
    if len(positionals) > 1:
        raise Pass("arguments")
    model = options.get("--model", positionals[0] if positionals else None)
    if not isinstance(model, str) or not model:
        raise Pass("arguments")
    type_filter = options.get("--type")
    if not call.json and any(call.ttys):
        raise Pass("terminal_width")  # Deno.consoleSize() decides where lines are cut
    check_locale(call)
    repo = ctx.markers.locate(call)
    definition, model_type, model_dir = model_of(call, ctx, repo, model)
    items = ctx.store.find_all_for_model(model_dir)
    if isinstance(type_filter, str) and type_filter:
        items = [i for i in items if i.type == type_filter]
    rows = [{"id": i.id, "name": i.name, "version": i.version, "contentType": i.content_type, "type": i.type,
             "streaming": i.streaming, **({"size": i.size} if i.size is not None else {}),
             "createdAt": i.created_at} for i in items]
    data = {"modelId": definition.id, "modelName": definition.name, "modelType": model_type,
            "groups": _group(rows), "total": len(rows)}
    return _render_json(data) if call.json else _render_log(data)


def _group(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    grouped: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        grouped.setdefault(str(row["type"]), []).append(row)

    def by_name(items: list[dict[str, object]]) -> list[dict[str, object]]:
        order = locale_sorted([str(i["name"]) for i in items])
        rank = {name: n for n, name in enumerate(order)}  # names are unique within a model
        return sorted(items, key=lambda i: rank[str(i["name"])])

    groups: list[dict[str, object]] = [{"type": t, "items": by_name(grouped.pop(t))} for t in STANDARD_TYPES
                                       if t in grouped]
    groups += [{"type": t, "items": by_name(grouped[t])} for t in sorted(grouped, key=_utf16_key)]
    return groups


def _utf16_key(text: str) -> list[int]:
    """Array.prototype.sort's default order: UTF-16 code units."""
    return list(text.encode("utf-16-be"))


def _render_json(data: dict[str, object]) -> Answer:
    result = Answer()
    result.log(jsjson.stringify(data))  # the namespace is left out: none is configured
    return result


def _render_log(data: dict[str, object]) -> Answer:
    result = Answer()
    result.log(f"Data for {data['modelName']} ({data['modelType']})")
    result.log("")
    for group in data["groups"]:  # type: ignore[attr-defined]
        count = len(group["items"])
        result.log(f"{group['type']} ({count} {'item' if count == 1 else 'items'}):")
        for item in group["items"]:
            size = format_size(item.get("size"), "")
            line = f"  {item['name']}  v{item['version']}  {item['contentType']}  {size}  {item['createdAt'][:10]}"
            if _utf16_len(line) > DEFAULT_COLUMNS:
                raise Pass("long_line")  # cut at a UTF-16 offset with an ellipsis: not copied
            result.log(line)
        result.log("")
    return result


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2

