"""RPC namespaces: one module each; `load_registry()` finds them all."""

from swampd.api._context import CallContext, Peer
from swampd.api._registry import MethodSpec, NonEmptyStr, Registry, load_registry, rpc

__all__ = ("CallContext", "MethodSpec", "NonEmptyStr", "Peer", "Registry", "load_registry", "rpc")
