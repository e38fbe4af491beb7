"""YAML read as swamp reads it (`@std/yaml` `parse`, js-yaml's default schema), in PyYAML.

PyYAML's safe loader is YAML 1.1 (`yes` is true, `1:30` is 90, `010` is 8 ...); swamp's is
js-yaml's default schema: booleans only `true/True/TRUE/false/...`, nulls `~/null/Null/NULL`,
integers decimal or `0b`/`0x`/`0`-octal with `_`, floats, and timestamps (which become Dates in
JavaScript: here a `JsDate` string the callers refuse to render). A duplicated mapping key is an
error for js-yaml (swamp fails), so it is one here too, and so is any explicit tag (`!!int '7'`).
Anything that fails raises YamlError.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from swampd.front.jsjson import MAX_SAFE


class YamlError(ValueError):
    pass


class JsDate(str):
    """A YAML timestamp: a JavaScript Date in swamp, which this module does not try to copy."""


class JsYamlLoader(yaml.SafeLoader):
    """PyYAML's pure-Python loader (its composer can be taught to refuse explicit tags)."""

    yaml_implicit_resolvers: dict[Any, Any] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
        if getattr(event, "tag", None) not in (None, "!"):
            raise YamlError("explicit YAML tags are not read the same way by swamp")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    marker = (type(key), key)
                    duplicate = marker in seen
                    seen.add(marker)
                except TypeError:
                    raise YamlError("unhashable mapping key") from None
                if duplicate:
                    raise YamlError(f"duplicated mapping key {key!r}")
        return super().construct_mapping(node, deep=deep)


def _resolver(tag: str, pattern: str, first: str) -> None:
    JsYamlLoader.add_implicit_resolver(tag, re.compile(pattern, re.X), list(first))


_resolver("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")
_resolver("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""])  # type: ignore[arg-type]
_resolver("tag:yaml.org,2002:int",
          r"""^(?:[-+]?0b[01_]*[01]
              |[-+]?0x[0-9a-fA-F_]*[0-9a-fA-F]
              |[-+]?0[0-7_]*[0-7]
              |[-+]?(?:0|[1-9][0-9_]*[0-9]|[1-9]))$""", "-+0123456789")
_resolver("tag:yaml.org,2002:float",
          r"""^(?:[-+]?(?:0|[1-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?
              |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
              |[-+]?\.(?:inf|Inf|INF)
              |\.(?:nan|NaN|NAN))(?<!_)$""", "-+0123456789.")
_resolver("tag:yaml.org,2002:timestamp",
          r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
              |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9]
               (?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""", "0123456789")
_resolver("tag:yaml.org,2002:merge", r"^(?:<<)$", "<")


def _int(loader: JsYamlLoader, node: Any) -> int | float:
    text = loader.construct_scalar(node).replace("_", "")
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    if text.startswith("0b"):
        value = int(text[2:], 2)
    elif text.startswith("0x"):
        value = int(text[2:], 16)
    elif text.startswith("0") and text != "0":
        value = int(text, 8)
    else:
        value = int(text)
    value *= sign
    return value if -MAX_SAFE <= value <= MAX_SAFE else float(value)


def _float(loader: JsYamlLoader, node: Any) -> float:
    text = loader.construct_scalar(node).replace("_", "").lower()
    if text.endswith((".inf", ".nan")):
        raise YamlError("infinite or NaN number")  # JSON prints them as null: too rare to copy
    return float(text)


def _timestamp(loader: JsYamlLoader, node: Any) -> JsDate:
    return JsDate(loader.construct_scalar(node))


def _refuse(loader: JsYamlLoader, node: Any) -> Any:
    raise YamlError(f"unsupported YAML tag {node.tag}")


JsYamlLoader.add_constructor("tag:yaml.org,2002:int", _int)
JsYamlLoader.add_constructor("tag:yaml.org,2002:float", _float)
JsYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
for _tag in ("tag:yaml.org,2002:binary", "tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs",
             "tag:yaml.org,2002:set"):
    JsYamlLoader.add_constructor(_tag, _refuse)
JsYamlLoader.add_constructor(None, _refuse)


def load(text: str) -> Any:
    """Parse one YAML document as swamp does; raises YamlError where swamp would fail (or might)."""
    try:
        docs = list(yaml.load_all(text, Loader=JsYamlLoader))
    except YamlError:
        raise
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as exc:
        raise YamlError(str(exc).splitlines()[0] if str(exc) else "invalid YAML") from None
    if len(docs) > 1:
        raise YamlError("more than one document")
    return docs[0] if docs else None
