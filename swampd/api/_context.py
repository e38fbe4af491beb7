"""What a handler knows about its call: the services, the calling peer and its connection (swampd/peer.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from swampd.peer import Connection, Peer

if TYPE_CHECKING:
    from swampd.api._registry import Registry
    from swampd.services import Services


@dataclass
class CallContext:
    services: Services
    connection: Connection
    registry: Registry

    @property
    def peer(self) -> Peer:
        return self.connection.peer
