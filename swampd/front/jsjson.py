"""JavaScript's `JSON.stringify(value, null, 2)` and `JSON.parse`, byte for byte, in Python.

swamp prints its `--json` output with `JSON.stringify(x, null, 2)`. Python's `json.dumps` differs
in three places this module fixes: numbers (JavaScript has only doubles: `1.0` prints `1`, `1e21`
prints `1e+21`, integers past 2**53 lose digits), object key order (integer-like keys come first,
ascending, in a JavaScript object) and `-0` (prints `0`). Strings are escaped the same way by both.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

MAX_SAFE = 2**53
MAX_INDEX = 2**32 - 2

_BASIC_ESCAPE = json.encoder.encode_basestring  # `"`, `\\`, control chars: as JS
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(text: str) -> str:
    """JSON.stringify's string form: json's escapes, plus lone surrogates as \\uXXXX (well-formed stringify)."""
    escaped = _BASIC_ESCAPE(text)
    if _LONE_SURROGATE.search(escaped):
        escaped = _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", escaped)
    return escaped


class JsUndefined:
    """A value JSON.stringify leaves out (an object member) or prints as null (an array item)."""


UNDEFINED = JsUndefined()


def js_number(value: int | float) -> str:
    """`String(n)` for a JavaScript number (ECMA-262 Number::toString)."""
    if isinstance(value, bool):
        raise TypeError("bool is not a number")
    if isinstance(value, int):
        if -MAX_SAFE <= value <= MAX_SAFE:
            return str(value)
        value = float(value)
    if math.isnan(value) or math.isinf(value):
        return "null"  # what JSON.stringify prints for them
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    digits, exponent = _shortest(abs(value))
    k = len(digits)
    n = exponent  # value = 0.digits * 10**n
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{sign}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def _shortest(value: float) -> tuple[str, int]:
    """The shortest round-tripping digits of a positive double and n with value = 0.DIGITS * 10**n."""
    text = repr(value)
    mantissa, _, exp = text.partition("e")
    exponent = int(exp) if exp else 0
    whole, _, frac = mantissa.partition(".")
    if frac == "0":
        frac = ""
    digits = (whole + frac).lstrip("0")
    lead = len(whole) if whole != "0" else -(len(frac) - len(frac.lstrip("0")))
    digits = digits.rstrip("0")
    return digits, lead + exponent


def _is_index(key: str) -> bool:
    return key.isdigit() and key.isascii() and (key == "0" or key[0] != "0") and int(key) <= MAX_INDEX


def js_keys(obj: dict[str, Any]) -> list[str]:
    """A JavaScript object's own keys in order: integer-like keys ascending, then the rest as inserted."""
    keys = list(obj)
    index_keys = [k for k in keys if _is_index(k)]
    if not index_keys:
        return keys
    return sorted(index_keys, key=int) + [k for k in keys if not _is_index(k)]


class _Slow(Exception):
    pass


def stringify(value: Any, indent: int = 2) -> str:
    """`JSON.stringify(value, null, indent)` (dict keys must be strings).

    orjson writes the same indented form as JavaScript (checked against Deno by the tests) once
    numbers and key order are made JavaScript's; a lone surrogate takes the pure-Python path.
    """
    if indent == 2:
        try:
            return orjson.dumps(_for_orjson(value), option=orjson.OPT_INDENT_2).decode()
        except (_Slow, TypeError, orjson.JSONEncodeError):
            pass
    out: list[str] = []
    _write(value, out, "", " " * indent)
    return "".join(out)


def _for_orjson(value: Any) -> Any:
    if isinstance(value, str):
        if _LONE_SURROGATE.search(value):
            raise _Slow
        return value
    if value is None or value is True or value is False:
        return value
    if isinstance(value, int):
        return value if -MAX_SAFE <= value <= MAX_SAFE else orjson.Fragment(js_number(value).encode())
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return int(value) if abs(value) <= MAX_SAFE else orjson.Fragment(js_number(value).encode())
        return orjson.Fragment(js_number(value).encode())
    if isinstance(value, dict):
        return {k: _for_orjson(value[k]) for k in js_keys(value) if not isinstance(value[k], JsUndefined)}
    if isinstance(value, (list, tuple)):
        return [None if isinstance(v, JsUndefined) else _for_orjson(v) for v in value]
    raise _Slow


def _write(value: Any, out: list[str], current: str, step: str) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_escape(value))
    elif isinstance(value, (int, float)):
        out.append(js_number(value))
    elif isinstance(value, dict):
        members = [(k, v) for k in js_keys(value) if not isinstance(v := value[k], JsUndefined)]
        if not members:
            out.append("{}")
            return
        inner = current + step
        out.append("{\n")
        for i, (key, item) in enumerate(members):
            if not isinstance(key, str):
                raise TypeError("object keys must be strings")
            out.append(f"{inner}{_escape(key)}: ")
            _write(item, out, inner, step)
            out.append(",\n" if i < len(members) - 1 else "\n")
        out.append(current + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = current + step
        out.append("[\n")
        for i, item in enumerate(value):
            out.append(inner)
            _write(None if isinstance(item, JsUndefined) else item, out, inner, step)
            out.append(",\n" if i < len(value) - 1 else "\n")
        out.append(current + "]")
    else:
        raise TypeError(f"cannot stringify {type(value).__name__}")


class NotJson(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise NotJson(name)


def _int(text: str) -> int | float:
    value = int(text)
    return value if -MAX_SAFE <= value <= MAX_SAFE else float(text)


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise NotJson(text)  # JSON.parse gives Infinity, which prints as null: too rare to copy
    return value


_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_reject_constant)


def parse(text: str) -> Any:
    """`JSON.parse(text)`; raises NotJson where JSON.parse throws (and for the rare cases we do not copy)."""
    try:
        return _DECODER.decode(text)
    except NotJson:
        raise
    except (ValueError, RecursionError):
        raise NotJson("not JSON") from None


def text_decode(data: bytes) -> str:
    """`new TextDecoder().decode(data)`: UTF-8, a leading BOM dropped, bad bytes as U+FFFD."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", "replace")
