"""RPC namespaces: one module each; `load_registry()` finds them all."""

from swampd.api._context import CallContext
from swampd.api._registry import MethodSpec, NonEmptyStr, Registry, load_registry, rpc
from swampd.peer import Peer

__all__ = ("CallContext", "MethodSpec", "NonEmptyStr", "Peer", "Registry", "load_registry", "rpc")
