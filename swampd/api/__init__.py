"""RPC namespaces: one module each; `load_registry()` finds them all."""

from swampd.api._context import CallContext, Peer
from swampd.api._registry import MethodSpec, Registry, load_registry, rpc

__all__ = ("CallContext", "MethodSpec", "Peer", "Registry", "load_registry", "rpc")
