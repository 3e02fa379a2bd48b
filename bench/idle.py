#!/usr/bin/env python3
"""Idle connections for bench/memory.sh, standard library only.

    idle.py backend PORT                 HTTP/1.1 keep-alive origin that also accepts WebSocket
                                         upgrades (101, then holds the socket open)
    idle.py ws ADDR HOST COUNT FILE      COUNT WebSocket tunnels through ADDR (ip:port); writes
                                         FILE once all got their 101, then holds them
    idle.py keepalive ADDR HOST COUNT FILE
                                         COUNT client connections, each does one GET / (200) and
                                         then stays open, idle; FILE once all are done

Clients hold their connections until killed, and at most HOLD_SECONDS (a benchmark must stop by
itself).
"""

import asyncio
import base64
import hashlib
import os
import sys

HOLD_SECONDS = 300
# Opening thousands at once would measure a connect storm, not idle connections.
PARALLEL = 200
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC11B85"


async def read_head(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers


async def serve_one(reader, writer):
    try:
        while True:
            _, headers = await read_head(reader)
            if headers.get("upgrade", "").lower() == "websocket":
                accept = base64.b64encode(
                    hashlib.sha1(headers["sec-websocket-key"].encode() + WS_GUID).digest()
                )
                writer.write(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
                )
                await writer.drain()
                while await reader.read(65536):  # hold the tunnel until the peer closes
                    pass
                return
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello world\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def backend(port):
    server = await asyncio.start_server(serve_one, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


async def open_one(addr, host, kind, gate, held):
    ip, port = addr.rsplit(":", 1)
    async with gate:
        reader, writer = await asyncio.open_connection(ip, int(port))
        if kind == "ws":
            key = base64.b64encode(os.urandom(16)).decode()
            writer.write(
                (
                    f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n"
                ).encode()
            )
            want = "101"
        else:
            writer.write(f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            want = "200"
        await writer.drain()
        status, headers = await read_head(reader)
        if status.split()[1] != want:
            raise SystemExit(f"expected {want}, got {status!r}")
        if kind != "ws":
            await reader.readexactly(int(headers.get("content-length", "0")))
    held.append((reader, writer))


async def clients(kind, addr, host, count, ready_file):
    gate = asyncio.Semaphore(PARALLEL)
    held = []
    await asyncio.gather(*(open_one(addr, host, kind, gate, held) for _ in range(count)))
    with open(ready_file, "w") as f:
        f.write(f"{len(held)}\n")
    await asyncio.sleep(HOLD_SECONDS)


def main():
    args = sys.argv[1:]
    if args[:1] == ["backend"] and len(args) == 2:
        asyncio.run(backend(int(args[1])))
    elif args[:1] in (["ws"], ["keepalive"]) and len(args) == 5:
        asyncio.run(clients(args[0], args[1], args[2], int(args[3]), args[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
