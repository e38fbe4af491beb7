"""The method registry: one module per RPC namespace under `swampd/api/` adds its methods.

A method is an async function whose first argument is the `CallContext` and whose other
arguments are the JSON-RPC params (named or positional):

    @rpc("data.get")
    async def get(ctx: CallContext, repo: str, model: str, name: str, version: int | None = None):
        \"\"\"Read one data version.\"\"\"
        return await ctx.services.data.get(...)

Handlers return JSON-able values and raise `SwampdError`s; the RPC adapter does the rest.

A hot read may also have a synchronous variant with the same params, `@rpc("data.get", now=get_now)`,
which answers when it can without awaiting anything (from memory) and returns None otherwise. The
connection tries it first, within the read of the request (no task, no turn of the event loop), and
hands the request to the async handler when it returns None or raises.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

Handler = Callable[..., Awaitable[Any]]
NowHandler = Callable[..., Any]

NON_EMPTY = "non-empty"
NonEmptyStr = Annotated[str, NON_EMPTY]
"""A string param that may not be empty; checked by the RPC adapter like every annotated type."""


@dataclass(frozen=True)
class MethodSpec:
    name: str
    handler: Handler
    doc: str
    params: tuple[dict[str, Any], ...]
    mutating: bool
    """Changes state; refused by read-only clients and shown as such by `rpc.discover`."""
    now: NowHandler | None = None
    """The synchronous variant that answers from memory, or None (see the module's doc)."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "doc": self.doc, "params": list(self.params), "mutating": self.mutating}


def rpc(name: str, *, mutating: bool = False, now: NowHandler | None = None) -> Callable[[Handler], Handler]:
    """Mark an async function as the RPC method `name` (`now`: its synchronous variant)."""

    def mark(func: Handler) -> Handler:
        if not inspect.iscoroutinefunction(func):
            raise TypeError(f"RPC method {name} must be an async function")
        if now is not None:
            if mutating or inspect.iscoroutinefunction(now):
                raise TypeError(f"RPC method {name}: only a read has a `now` variant, and it is synchronous")
            if inspect.signature(now).parameters.keys() != inspect.signature(func).parameters.keys():
                raise TypeError(f"RPC method {name}: its `now` variant must take the same params")
        func.__rpc_name__ = name  # type: ignore[attr-defined]
        func.__rpc_mutating__ = mutating  # type: ignore[attr-defined]
        func.__rpc_now__ = now  # type: ignore[attr-defined]
        return func

    return mark


def _describe_params(func: Handler) -> tuple[dict[str, Any], ...]:
    params = list(inspect.signature(func).parameters.values())[1:]
    out = []
    for p in params:
        entry: dict[str, Any] = {"name": p.name, "required": p.default is inspect.Parameter.empty}
        if p.annotation is not inspect.Parameter.empty:
            annotation = p.annotation
            entry["type"] = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
        if p.default is not inspect.Parameter.empty and isinstance(p.default, (str, int, float, bool, type(None))):
            entry["default"] = p.default
        out.append(entry)
    return tuple(out)


class Registry:
    """Method name → spec."""

    def __init__(self) -> None:
        self._methods: dict[str, MethodSpec] = {}

    def add(self, func: Handler) -> None:
        name = func.__rpc_name__  # type: ignore[attr-defined]
        if name in self._methods:
            raise ValueError(f"RPC method {name} registered twice")
        doc = (inspect.getdoc(func) or "").strip().splitlines()
        self._methods[name] = MethodSpec(
            name=name,
            handler=func,
            doc=doc[0] if doc else "",
            params=_describe_params(func),
            mutating=func.__rpc_mutating__,  # type: ignore[attr-defined]
            now=getattr(func, "__rpc_now__", None),
        )

    def add_module(self, module: Any) -> None:
        for value in vars(module).values():
            if callable(value) and hasattr(value, "__rpc_name__") and value.__module__ == module.__name__:
                self.add(value)

    def get(self, name: str) -> MethodSpec | None:
        return self._methods.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self._methods

    def names(self) -> list[str]:
        return sorted(self._methods)

    def specs(self) -> list[MethodSpec]:
        return [self._methods[n] for n in self.names()]


def load_registry(package: str = "swampd.api") -> Registry:
    """Import every public module of `package` and register its methods."""
    registry = Registry()
    pkg = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        registry.add_module(importlib.import_module(f"{package}.{info.name}"))
    return registry
