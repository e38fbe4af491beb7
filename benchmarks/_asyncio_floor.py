"""The least any asyncio JSON-RPC daemon in Python pays per request: the floor under swampd's hot path.

    python benchmarks/_asyncio_floor.py SOCKET RESULT_JSON_FILE

Serves SOCKET (a Unix socket) with asyncio's own protocol machinery and answers every request
line with the result in RESULT_JSON_FILE under the request's id: one orjson decode, one reply dict,
one orjson encode and one write per request, nothing else (no dispatch, no validation, no
service). bench_data.py runs it beside swampd and redis-server to split swampd's CPU per
request into what asyncio itself costs and what swampd adds. Prints "ready" once listening.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import orjson


class FloorProtocol(asyncio.Protocol):
    def __init__(self, result: Any) -> None:
        self.result = result
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        assert self.transport is not None
        for line in lines:
            request = orjson.loads(line)
            reply = {"jsonrpc": "2.0", "result": self.result, "id": request.get("id")}
            self.transport.write(orjson.dumps(reply) + b"\n")


async def serve(path: str, result: Any) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_unix_server(lambda: FloorProtocol(result), path)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if os.path.exists(sys.argv[1]):
        os.unlink(sys.argv[1])
    asyncio.run(serve(sys.argv[1], orjson.loads(Path(sys.argv[2]).read_bytes())))
