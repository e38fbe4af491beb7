"""The JSON-RPC 2.0 adapter: the only module that imports jsonrpcserver.

Framing and transport hand it one decoded JSON value; it returns the JSON-able reply (or
None when nothing must be sent: notifications and notification-only batches). Batches are
split here so that each member gets its own reply, as the specification requires.
jsonrpcserver is configured for speed: requests arrive already parsed (orjson), validated
by a small hand-written check instead of its jsonschema validator, checked against each
handler's parameters precomputed once (instead of `inspect.Signature.bind` per call), and
called through jsonrpcserver's `call` (no per-request `asyncio.gather`); its result becomes the
reply dict directly (no Response tuple and `to_serializable` per call).
"""

from __future__ import annotations

import inspect
import logging
import traceback
import types
import typing
from collections.abc import Awaitable, Callable
from typing import Any

from jsonrpcserver.async_dispatcher import call
from jsonrpcserver.dispatcher import call as call_now
from jsonrpcserver.dispatcher import create_request, extract_args, extract_kwargs
from jsonrpcserver.result import Error, Success
from jsonrpcserver.sentinels import NOCONTEXT, NOID
from oslash.either import Left  # type: ignore[import-untyped]  # jsonrpcserver's Result type

from swampd import protocol
from swampd.api._context import CallContext
from swampd.api._registry import NON_EMPTY, MethodSpec, Registry
from swampd.errors import SwampdError
from swampd.server.frames import split_trailing_id

log = logging.getLogger("swampd.rpc")

Json = Any
NOT_NOW: Any = object()
"""`dispatch_now`'s answer when the request goes to its async handler (`dispatch_one`)."""

REPLAYS = 1024
"""Request lines remembered for `answer_again` (the oldest is forgotten first)."""
REPLAY_LINE_LIMIT = 4096
"""Bytes above which a request line is not remembered."""


def error_reply(code: int, message: str, id_: Any = None, **data: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "error": {"code": code, "message": message, "data": {"kind": protocol.kind_for_code(code), **data}},
        "id": id_,
    }


def _is_valid_request(obj: Any) -> bool:
    if not isinstance(obj, dict) or obj.get("jsonrpc") != "2.0":
        return False
    if not isinstance(obj.get("method"), str):
        return False
    if "params" in obj and not isinstance(obj["params"], (list, dict)):
        return False
    if "id" in obj:
        id_ = obj["id"]
        if not (id_ is None or isinstance(id_, (str, int, float)) and not isinstance(id_, bool)):
            return False
    return len(obj) <= 4 and _REQUEST_KEYS.issuperset(obj)


_REQUEST_KEYS = frozenset({"jsonrpc", "method", "params", "id"})


def _request_id(obj: Any) -> Any:
    if isinstance(obj, dict):
        id_ = obj.get("id")
        if id_ is None or isinstance(id_, (str, int, float)) and not isinstance(id_, bool):
            return id_
    return None


# ---- parameter type checks, computed once per method -------------------------------------

_SIMPLE: dict[Any, tuple[type, ...]] = {
    str: (str,), int: (int,), float: (int, float), bool: (bool,), dict: (dict,), list: (list,),
    type(None): (type(None),),
}


def _accepted_types(annotation: Any) -> tuple[tuple[type, ...], bool] | None:
    """For simple annotations (str, int, X | None, list[...]): the accepted JSON types and whether
    a bool must be refused (JSON true is no int). None: not checked here."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        parts = [_accepted_types(a) for a in typing.get_args(annotation)]
        if any(p is None for p in parts):
            return None
        accepted = tuple(t for p in parts if p is not None for t in p[0])
        return accepted, bool not in accepted
    if origin in (list, dict):
        annotation = origin
    if annotation not in _SIMPLE:
        return None
    accepted = _SIMPLE[annotation]
    return accepted, bool not in accepted


def _wants_non_empty(annotation: Any) -> bool:
    """Whether the annotation is (or, in a union, contains) `NonEmptyStr`."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_wants_non_empty(a) for a in typing.get_args(annotation))
    return typing.get_origin(annotation) is typing.Annotated and NON_EMPTY in typing.get_args(annotation)[1:]


def _checker(annotation: Any) -> Callable[[Any], bool] | None:
    """A predicate for a simple annotation (None = don't check): one isinstance call."""
    rule = _accepted_types(annotation)
    if rule is None:
        return None
    accepted, refuse_bool = rule
    if _wants_non_empty(annotation):
        return lambda v: isinstance(v, accepted) and v != ""
    if refuse_bool:
        return lambda v: isinstance(v, accepted) and v.__class__ is not bool
    return lambda v: isinstance(v, accepted)


def _type_name(annotation: Any) -> str:
    if _wants_non_empty(annotation):
        return "a non-empty string" + (" or null" if type(None) in typing.get_args(annotation) else "")
    return str(annotation).replace("typing.", "").replace("<class '", "").replace("'>", "")


class _Arity:
    """The binding rules of one handler's params, precomputed (what `Signature.bind` checks)."""

    __slots__ = ("keyword", "positional", "required", "var_keyword", "var_positional")

    def __init__(self, signature: inspect.Signature) -> None:
        params = list(signature.parameters.values())[1:]  # the first one is the CallContext
        kinds = inspect.Parameter
        self.positional = [p.name for p in params if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)]
        self.keyword = {p.name for p in params if p.kind in (kinds.POSITIONAL_OR_KEYWORD, kinds.KEYWORD_ONLY)}
        self.required = [p.name for p in params if p.default is p.empty and p.kind not in
                         (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD)]
        self.var_positional = any(p.kind is kinds.VAR_POSITIONAL for p in params)
        self.var_keyword = any(p.kind is kinds.VAR_KEYWORD for p in params)

    def problem(self, params: Any) -> str | None:
        """Why `params` cannot bind (None when they can)."""
        if isinstance(params, list):
            if len(params) > len(self.positional) and not self.var_positional:
                return f"too many positional arguments (at most {len(self.positional)})"
            missing = [n for n in self.required[len(params):] if n in self.positional[len(params):]]
            missing += [n for n in self.required if n not in self.positional]
        else:
            if not self.var_keyword and not self.keyword.issuperset(params):
                return f"unexpected param(s): {', '.join(sorted(set(params) - self.keyword))}"
            missing = [n for n in self.required if n not in params]
        if missing:
            return f"missing required param(s): {', '.join(missing)}"
        return None


class RpcDispatcher:
    """Turns one decoded JSON-RPC message into its reply using the registry's handlers.

    jsonrpcserver builds the request, calls the method and builds the response; the
    parameter binding check it would do with `inspect.Signature.bind` on every call (the
    largest cost in a profile) is precomputed per method here instead.
    """

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._methods = {spec.name: self._wrap(spec) for spec in registry.specs()}
        self._now = {spec.name: self._wrap_now(spec) for spec in registry.specs() if spec.now is not None}
        self._variants = {spec.name: spec.now for spec in registry.specs() if spec.now is not None}
        self._arity = {spec.name: _Arity(inspect.signature(spec.handler)) for spec in registry.specs()}
        self._replays: dict[bytes, tuple[Callable[..., Any], list[Any], dict[str, Any]]] = {}
        """A line's part before its id (`split_trailing_id`) -> the synchronous variant and the positional
        and named params jsonrpcserver called it with, for lines it answered."""

    def answers_now(self, method: Any) -> bool:
        """Whether `method` has a synchronous variant worth trying before a task is made."""
        return method in self._now

    @staticmethod
    def _type_checks(spec: MethodSpec) -> tuple[Callable[[tuple[Any, ...], dict[str, Any]], str | None],
                                                dict[str, Any]]:
        """A function naming the first param whose value does not match the handler's annotation,
        and the annotations."""
        try:
            hints = typing.get_type_hints(spec.handler, include_extras=True)
        except Exception:  # noqa: BLE001 - unresolvable hint: skip the type checks
            hints = {}
        names = list(inspect.signature(spec.handler).parameters)[1:]
        checks = {name: check for name in names if name in hints and (check := _checker(hints[name])) is not None}

        def wrong(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
            if checks:
                for name, value in kwargs.items():
                    check = checks.get(name)
                    if check is not None and not check(value):
                        return name
                for name, value in zip(names, args, strict=False):
                    check = checks.get(name)
                    if check is not None and not check(value):
                        return name
            return None

        return wrong, hints

    def _wrap(self, spec: MethodSpec) -> Callable[..., Awaitable[Any]]:
        handler = spec.handler
        wrong, hints = self._type_checks(spec)

        def wrong_type(name: str) -> Any:
            return Error(
                protocol.INVALID_PARAMS,
                f"invalid params: '{name}' must be {_type_name(hints[name])}",
                {"kind": "invalid_params", "param": name},
            )

        async def method(ctx: CallContext, *args: Any, **kwargs: Any) -> Any:
            name = wrong(args, kwargs)
            if name is not None:
                return wrong_type(name)
            try:
                result = await handler(ctx, *args, **kwargs)
            except SwampdError as exc:
                err = exc.to_error()
                return Error(err["code"], err["message"], err["data"])
            except Exception as exc:  # noqa: BLE001 - never let raw exception text reach a client
                # The message of a third-party exception may carry a secret: log the type and
                # the stack only.
                frames = "".join(traceback.format_tb(exc.__traceback__))
                log.error("internal error in %s: %s\n%s", spec.name, type(exc).__name__, frames)
                return Error(protocol.INTERNAL_ERROR, "internal error", {"kind": "internal_error", "method": spec.name})
            return Success(result)

        return method

    def _wrap_now(self, spec: MethodSpec) -> Callable[..., Any]:
        """The synchronous variant as a jsonrpcserver method. Whatever it cannot answer, wrong params
        and errors included, becomes NOT_NOW: the async handler then answers (or refuses) it, so
        every reply that is not a hot hit comes from one place."""
        now = spec.now
        assert now is not None
        wrong, _ = self._type_checks(spec)

        def method(ctx: CallContext, *args: Any, **kwargs: Any) -> Any:
            if wrong(args, kwargs) is not None:
                return Success(NOT_NOW)
            try:
                result = now(ctx, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the async handler answers it, with its own error
                if not isinstance(exc, SwampdError):
                    log.warning("%s answered later after %s in its synchronous variant", spec.name,
                                type(exc).__name__)
                return Success(NOT_NOW)
            return Success(NOT_NOW if result is None else result)

        return method

    def dispatch_now(self, obj: Json, ctx: CallContext, line: bytes | None = None) -> Json:
        """The reply to a request whose method `answers_now`, when its synchronous variant can give it
        without awaiting anything; else NOT_NOW (and `dispatch_one` answers). Requests jsonrpcserver
        would refuse, and notifications, are NOT_NOW.

        `line`, the request as it was read, is remembered for `answer_again` when it was answered."""
        request, _ = self._checked(obj)
        method = self._now.get(request.method) if request is not None and request.id is not NOID else None
        if method is None:
            return NOT_NOW
        result = call_now(request, ctx, method)
        if isinstance(result, Left) or result._value.result is NOT_NOW:
            return NOT_NOW
        if line is not None:
            self._remember(line, request)
        return self._reply(request, result)

    def answer_again(self, line: bytes, ctx: CallContext) -> Json:
        """The reply to a request line that differs only in its id from one `dispatch_now` answered:
        its synchronous variant is called again with the params jsonrpcserver bound then (the checks
        of a line's request, arity and types depend on its bytes alone), skipping the decode and the
        checks. NOT_NOW when the line is not such a one or the variant cannot answer now (it checks
        again all it depends on): then the line goes the whole way, through jsonrpcserver."""
        split = split_trailing_id(line)
        if split is None:
            return NOT_NOW
        remembered = self._replays.get(split[0])
        if remembered is None:
            return NOT_NOW
        now, args, kwargs = remembered
        try:
            result = now(ctx, *args, **kwargs)
        except Exception:  # noqa: BLE001 - the whole way says what went wrong, as it always does
            return NOT_NOW
        if result is None:
            return NOT_NOW
        return {"jsonrpc": "2.0", "result": result, "id": split[1]}

    def _remember(self, line: bytes, request: Any) -> None:
        split = split_trailing_id(line) if len(line) <= REPLAY_LINE_LIMIT else None
        if split is None or request.id.__class__ is not int or split[1] != request.id:
            return
        if split[0] not in self._replays and len(self._replays) >= REPLAYS:
            del self._replays[next(iter(self._replays))]
        self._replays[split[0]] = (self._variants[request.method], extract_args(request, NOCONTEXT),
                                   extract_kwargs(request))

    async def dispatch_one(self, obj: Json, ctx: CallContext) -> Json | None:
        """Reply to one request object (None for a notification)."""
        request, refusal = self._checked(obj)
        if request is None:
            return refusal
        result = await call(request, ctx, self._methods[request.method])
        if request.id is NOID:
            return None
        return self._reply(request, result)

    def _checked(self, obj: Json) -> tuple[Any, Json | None]:
        """(the request, None) when `obj` may be called; else (None, the refusal: None for a notification)."""
        if not _is_valid_request(obj):
            return None, error_reply(protocol.INVALID_REQUEST, "invalid request", _request_id(obj))
        request = create_request(obj)
        if request.method not in self._methods:
            if request.id is NOID:
                return None, None
            return None, error_reply(protocol.METHOD_NOT_FOUND, f"method not found: {request.method}", request.id,
                                     method=request.method)
        problem = self._arity[request.method].problem(request.params)
        if problem is not None:
            if request.id is NOID:
                return None, None
            return None, error_reply(protocol.INVALID_PARAMS, f"invalid params: {problem}", request.id)
        return request, None

    @staticmethod
    def _reply(request: Any, result: Any) -> Json:
        # jsonrpcserver's result (an Either) to the reply, as its `to_response` + `to_serializable` would
        # build it, without their intermediate Response tuple per call.
        if not isinstance(result, Left):
            return {"jsonrpc": "2.0", "result": result._value.result, "id": request.id}
        error = result._error
        data = error.data if isinstance(error.data, dict) else {"kind": protocol.kind_for_code(error.code)}
        return {"jsonrpc": "2.0", "error": {"code": error.code, "message": error.message, "data": data},
                "id": request.id}
