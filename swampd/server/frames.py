"""Frames: decoding and encoding one NDJSON line, request ids, counting a batch's members."""

from __future__ import annotations

import json
import json.scanner
import re
from typing import Any

import orjson

from swampd import protocol


def dumps(obj: Any) -> bytes:
    try:
        return orjson.dumps(obj) + b"\n"
    except TypeError:  # an integer beyond 64 bits (an id, an echoed value): the stdlib has no such limit
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def loads(line: bytes) -> Any:
    """Decode one frame. orjson turns integers beyond 64 bits into floats: a frame with a float id
    (the only kind a client must get back exactly) is decoded again by the standard library."""
    obj = orjson.loads(line)
    if _has_float_id(obj):
        try:
            return json.loads(line)
        except (ValueError, RecursionError):
            pass
    return obj


_scan_value = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # typeshed names the C type
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def batch_over(line: bytes, limit: int) -> bool:
    """Whether the array frame `line` has more than `limit` members, found without decoding it all.

    Decoding a 6.5 MB batch of 100,000 small requests holds the event loop for most of a second;
    counting its members one by one with the standard library's scanner stops after `limit` + 1.
    Anything unusual (not an array, bad JSON) answers False: the full decode reports it.
    """
    if line.count(b",") < limit:
        return False  # cannot have more members than commas + 1
    try:
        text = line.decode("utf-8")
        i = _WHITESPACE.match(text, 0).end()  # type: ignore[union-attr]
        if text[i:i + 1] != "[":
            return False
        members = 0
        i += 1
        while True:
            i = _WHITESPACE.match(text, i).end()  # type: ignore[union-attr]
            if text[i:i + 1] == "]":
                return False
            _, i = _scan_value(text, i)
            members += 1
            if members > limit:
                return True
            i = _WHITESPACE.match(text, i).end()  # type: ignore[union-attr]
            if text[i:i + 1] != ",":
                return False  # the array ended (or is malformed) within the limit
            i += 1
    except (ValueError, StopIteration, RecursionError):
        return False


def _has_float_id(obj: Any) -> bool:
    if obj.__class__ is dict:
        if obj.get("method") == protocol.CANCEL_METHOD:  # the id it names
            params = obj.get("params")
            return (params.get("id") if isinstance(params, dict) else
                    params[0] if isinstance(params, list) and params else None).__class__ is float
        return obj.get("id").__class__ is float
    if obj.__class__ is list:
        return any(m.__class__ is dict and m.get("id").__class__ is float for m in obj)
    return False


def split_trailing_id(line: bytes) -> tuple[bytes, int] | None:
    """(everything up to the id's value, the id) for a request line that ends with `"id":N}`, N a
    non-negative integer of at most 18 digits written as JSON writes it; None for any other line.

    swampd.client writes its requests so. Two such lines with the same first part are the same request
    but for the id: nothing after `"id":` but the id's own digits can end the object.
    """
    if line[-1:] != b"}":
        return None
    cut = line.rfind(b'"id":')
    if cut < 1 or line[cut - 1] not in b",{":
        return None
    digits = line[cut + 5:-1]
    if not 0 < len(digits) <= 18 or not digits.isdigit() or (digits[0] == 0x30 and len(digits) > 1):
        return None
    return line[:cut + 5], int(digits)


def request_key(obj: Any) -> Any:
    """The in-flight key of a request: its id when that is a valid JSON-RPC id, else None.

    Arrays and objects are not ids (and not hashable): such a request is answered −32600
    with `id: null` by the dispatcher, and the connection carries on.
    """
    if isinstance(obj, dict):
        id_ = obj.get("id")
        if isinstance(id_, (str, int, float)) and not isinstance(id_, bool):
            return id_
    return None
