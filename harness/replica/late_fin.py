"""A late FIN: a TCP relay that passes an instance's close on to the balancer `delay` s late.

On a real network the FIN of a target that closes an idle keep-alive connection takes time to
reach the balancer; a request the balancer sends on that connection meanwhile reaches a closed
socket, is answered with a reset, and the client gets the 502 of the keep-alive race. Loopback
delivers the FIN at once, and a kernel without the `netem` queueing discipline cannot delay it,
so the replica puts this relay between its front end and the instance of the `short-keepalive`
fault: bytes flow both ways unchanged; when the instance closes, the balancer sees it `delay` s
later, and what the balancer sends meanwhile is answered with a reset, as the instance's kernel
would. Direct requests to the instance (its own port) do not pass here.

Run: python -m harness.replica.late_fin LISTEN_PORT INSTANCE_PORT DELAY_SECONDS
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import sys

CHUNK = 65536
HOST = "127.0.0.1"


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a reset (SO_LINGER 0), as a kernel answers data for a closed socket."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


async def _relay(
    client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter, port: int, delay: float
) -> None:
    try:
        server_r, server_w = await asyncio.open_connection(HOST, port)
    except OSError:
        _reset(client_w)
        return
    closed = asyncio.Event()  # the instance closed: its FIN is "in flight" for `delay`

    async def upstream() -> None:
        with contextlib.suppress(OSError):
            while data := await client_r.read(CHUNK):
                if closed.is_set():  # sent after the instance closed: the reset of the race
                    _reset(client_w)
                    server_w.close()
                    return
                server_w.write(data)
                await server_w.drain()
        server_w.close()

    async def downstream() -> None:
        with contextlib.suppress(OSError):
            while data := await server_r.read(CHUNK):
                client_w.write(data)
                await client_w.drain()
        closed.set()
        await asyncio.sleep(delay)
        client_w.close()

    await asyncio.gather(upstream(), downstream(), return_exceptions=True)


async def serve(listen: int, port: int, delay: float) -> None:
    server = await asyncio.start_server(
        lambda r, w: _relay(r, w, port, delay), HOST, listen, reuse_address=True
    )
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> int:
    listen, port, delay = int(argv[0]), int(argv[1]), float(argv[2])
    asyncio.run(serve(listen, port, delay))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
