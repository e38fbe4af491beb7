"""`swamp model get MODEL [--json]` (src/libswamp/models/get.ts, src/presentation/renderers/model_get.ts).

The definition is read as swamp reads it; the type's part (version, global-arguments schema, methods)
comes from swamp itself (typefacts.py). A type with a global-arguments schema may mark arguments
sensitive (swamp redacts them): such a model with global arguments passes.
"""

from __future__ import annotations

import os
from typing import Any

from swampd.front import jsjson
from swampd.front.call import Call, Pass
from swampd.front.context import FrontContext
from swampd.front.render import Answer, Colours

PATH = ("model", "get")
VALUE_OPTIONS = frozenset({"--repo-dir"})
FLAG_OPTIONS: frozenset[str] = frozenset()


def answer(call: Call, ctx: FrontContext) -> Answer:
    if len(call.parsed.positionals) != 1:
        raise Pass("arguments")
    model = call.parsed.positionals[0]
    repo = ctx.markers.locate(call)
    if not call.json and os.path.exists(os.path.join(repo.path, "extensions")):
        raise Pass("extensions")  # loading them may warn in the log format
    found = ctx.definitions.find_by_name(repo.path, model, strict=not call.json)
    if found is None:
        raise Pass("model_not_found")
    definition, model_type = found
    facts = ctx.types.get(call, model_type)
    data = definition.data
    global_args = data.get("globalArguments") or {}
    if facts.get("globalArguments") is not None and global_args:
        raise Pass("sensitive_unknown")
    out: dict[str, Any] = {"id": definition.id, "name": definition.name, "type": model_type,
                           "version": definition.version, "tags": data.get("tags") or {},
                           "globalArguments": global_args}
    # autoCreated: found by name, swamp stats the very file it read (never auto-created here)
    out["typeVersion"] = facts["version"]
    if facts.get("globalArguments") is not None:
        out["globalArgumentsSchema"] = facts["globalArguments"]
    out["methods"] = facts["methods"]
    if _has_dates(out):
        raise Pass("yaml_date")
    result = Answer()
    result.log(jsjson.stringify(out) if call.json else _log(out, Colours(call.colour)))
    return result


def _has_dates(value: Any) -> bool:
    from swampd.front.jsyaml import JsDate

    if isinstance(value, JsDate):
        return True
    if isinstance(value, dict):
        return any(_has_dates(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_dates(v) for v in value)
    return False


def js_string(value: Any) -> str:
    """JavaScript's String(value) for what YAML and JSON hold."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return jsjson.js_number(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join("" if v is None else js_string(v) for v in value)
    return "[object Object]"


def schema_lines(schema: Any, indent: str, c: Colours) -> list[str]:
    """formatSchemaAttributes: `name (type) [enum] *required` per property."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return []
    required = set(schema.get("required") or [])
    lines = []
    for name in jsjson.js_keys(schema["properties"]):
        prop = schema["properties"][name]
        parts = [name]
        kind = prop.get("type") if isinstance(prop, dict) else None
        if kind is not None:
            parts.append(c.dim(f"({' | '.join(kind) if isinstance(kind, list) else js_string(kind)})"))
        if isinstance(prop, dict) and prop.get("enum") is not None:
            parts.append(c.dim(f"[{', '.join(js_string(e) for e in prop['enum'])}]"))
        if name in required:
            parts.append(c.dim("*required"))
        lines.append(indent + " ".join(parts))
    return lines


def _log(data: dict[str, Any], c: Colours) -> str:
    lines = [f"{c.bold(c.cyan('Name:'))} {c.bold(data['name'])} {c.dim('(' + data['type'] + ')')}",
             f"{c.bold(c.cyan('ID:'))} {c.dim(data['id'])}",
             f"{c.bold(c.cyan('Version:'))} {js_string(data['version'])}"]
    if data.get("autoCreated"):
        lines.append(f"{c.bold(c.cyan('Auto-created:'))} {c.dim('yes')}")
    for title, record in (("Tags:", data["tags"]), ("Global Arguments:", data["globalArguments"])):
        if record:
            lines += ["", c.bold(c.cyan(title))]
            lines += [f"  {k}: {c.dim(js_string(record[k]))}" for k in jsjson.js_keys(record)]
    lines += ["", c.bold(c.cyan("Type Version:")) + f" {data['typeVersion']}"]
    attrs = schema_lines(data.get("globalArgumentsSchema"), "  ", c)
    if attrs:
        lines += ["", c.bold(c.cyan("Global Arguments Schema:")), *attrs]
    if data["methods"]:
        lines += ["", c.bold(c.cyan("Methods:"))]
        for method in data["methods"]:
            text = js_string(method["description"]) if "description" in method else "undefined"
            lines.append(f"  {c.bold(c.cyan(method['name']))} {c.dim('-')} {text}")
            inputs = schema_lines(method.get("arguments"), "      ", c)
            if inputs:
                lines += [f"    {c.cyan('Inputs:')}", *inputs]
    return "\n".join(lines)
