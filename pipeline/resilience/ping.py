"""Is the broker answering? One Kafka ApiVersions request with a deadline (a TCP connect alone cannot tell)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct

# ApiVersions v0: the one request every Kafka-protocol broker answers before authentication (so SASL listeners
# answer it too), with an empty body. A frozen or overloaded broker still completes TCP handshakes from the
# kernel's listen backlog, so only a request that needs the broker's process to answer tells the truth.
_CLIENT_ID = b"anonpipe-ping"
_CORRELATION_ID = 0x616E6F6E
_REQUEST_BODY = struct.pack(">hhih", 18, 0, _CORRELATION_ID, len(_CLIENT_ID)) + _CLIENT_ID
REQUEST = struct.pack(">i", len(_REQUEST_BODY)) + _REQUEST_BODY


def servers(bootstrap: str) -> list[tuple[str, int]]:
    result = []
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        result.append((host.strip("[]") or "127.0.0.1", int(port)))
    return result


def _check_header(header: bytes) -> str | None:
    _size, correlation_id = struct.unpack(">ii", header)
    return None if correlation_id == _CORRELATION_ID else "UnexpectedResponse"


def ping(bootstrap: str, timeout: float = 1.5, ssl_context: ssl.SSLContext | None = None) -> str | None:
    """None when some bootstrap server answers ApiVersions within `timeout` seconds, else the error's type name."""
    last = "NoBrokersAvailable"
    for host, port in servers(bootstrap):
        try:
            with socket.create_connection((host, port), timeout=timeout) as raw:
                sock = ssl_context.wrap_socket(raw, server_hostname=host) if ssl_context else raw
                sock.settimeout(timeout)
                sock.sendall(REQUEST)
                header = b""
                while len(header) < 8:
                    chunk = sock.recv(8 - len(header))
                    if not chunk:
                        raise ConnectionResetError("connection closed before the answer")
                    header += chunk
                error = _check_header(header)
                if error is None:
                    return None
                last = error
        except (OSError, ValueError) as exc:  # socket.timeout is TimeoutError, an OSError
            last = type(exc).__name__
    return last


async def ping_async(bootstrap: str, timeout: float = 1.5, ssl_context: ssl.SSLContext | None = None) -> str | None:
    """`ping` for the event loop: never blocks it for more than a callback."""
    last = "NoBrokersAvailable"
    for host, port in servers(bootstrap):
        opened: list[asyncio.StreamWriter] = []
        try:
            error = _check_header(await asyncio.wait_for(_exchange(host, port, ssl_context, opened), timeout))
            if error is None:
                return None
            last = error
        except (OSError, ValueError, asyncio.IncompleteReadError) as exc:  # TimeoutError is an OSError
            last = type(exc).__name__
        finally:
            for writer in opened:
                writer.close()
    return last


async def _exchange(host: str, port: int, ssl_context, opened: list) -> bytes:
    reader, writer = await asyncio.open_connection(host, port, ssl=ssl_context)
    opened.append(writer)  # closed by the caller, also when the deadline cancels this coroutine
    writer.write(REQUEST)
    await writer.drain()
    return await reader.readexactly(8)
