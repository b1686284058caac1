"""Framing and the plain-data codec shared by the supervisor and the sandbox servers.

Stdlib only: this file is copied into the sandbox and imported by the system interpreter there.
Only plain data crosses a process boundary (never pickle), so whatever the candidate sends, the
trusted side decodes it into builtin values that cannot lie about equality.
"""

from __future__ import annotations

import base64
import json
import socket
import struct
from typing import Any

MAX_FRAME_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 100
_HEADER = struct.Struct(">I")
_TAGS = ("t", "s", "fs", "d", "b")


class WireError(Exception):
    """A frame could not be read or decoded: the peer broke the protocol or went away."""


class NotPlainData(ValueError):
    """A value is not made of None, bool, int, float, str, bytes and containers of those."""


def to_plain(value: Any, depth: int = 0) -> Any:
    """Encode a plain value as JSON-ready data; tuples, sets, dicts and bytes are tagged."""
    if depth > MAX_DEPTH:
        raise NotPlainData(f"a value nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    inner = depth + 1
    if kind is list:
        return [to_plain(item, inner) for item in value]
    if kind is tuple:
        return {"t": [to_plain(item, inner) for item in value]}
    if kind is set:
        return {"s": [to_plain(item, inner) for item in value]}
    if kind is frozenset:
        return {"fs": [to_plain(item, inner) for item in value]}
    if kind is dict:
        return {"d": [[to_plain(k, inner), to_plain(v, inner)] for k, v in value.items()]}
    if kind is bytes:
        return {"b": base64.b64encode(value).decode("ascii")}
    raise NotPlainData(f"a value of type {kind.__name__} is not plain data")


def from_plain(data: Any, depth: int = 0) -> Any:
    """Decode what `to_plain` produced; anything else raises `WireError`."""
    if depth > MAX_DEPTH:
        raise WireError(f"a value nested deeper than {MAX_DEPTH} levels")
    kind = type(data)
    if data is None or kind in (bool, int, float, str):
        return data
    inner = depth + 1
    if kind is list:
        return [from_plain(item, inner) for item in data]
    if kind is not dict or len(data) != 1:
        raise WireError("malformed plain value")
    tag, body = next(iter(data.items()))
    try:
        if tag == "b":
            if type(body) is not str:
                raise WireError("malformed bytes value")
            return base64.b64decode(body.encode("ascii"), validate=True)
        if tag not in _TAGS or type(body) is not list:
            raise WireError("malformed plain value")
        if tag == "d":
            return {from_plain(k, inner): from_plain(v, inner) for k, v in _pairs(body)}
        items = [from_plain(item, inner) for item in body]
        if tag == "t":
            return tuple(items)
        return set(items) if tag == "s" else frozenset(items)
    except (TypeError, ValueError) as error:
        raise WireError(f"malformed plain value: {error}") from error


def _pairs(body: list[Any]) -> list[tuple[Any, Any]]:
    if not all(type(pair) is list and len(pair) == 2 for pair in body):
        raise WireError("malformed dict")
    return [(pair[0], pair[1]) for pair in body]


def send_frame(sock: socket.socket, message: Any) -> None:
    """Send one length-prefixed JSON message."""
    data = json.dumps(message, ensure_ascii=False).encode("utf-8", "surrogatepass")
    if len(data) > MAX_FRAME_BYTES:
        raise NotPlainData(f"a message of {len(data)} bytes is over the {MAX_FRAME_BYTES} limit")
    sock.sendall(_HEADER.pack(len(data)) + data)


def recv_frame(sock: socket.socket) -> Any:
    """Receive one message; `None` means the peer closed the channel between messages."""
    header = _recv_exactly(sock, _HEADER.size, allow_eof=True)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME_BYTES:
        raise WireError(f"a message of {size} bytes is over the {MAX_FRAME_BYTES} limit")
    body = _recv_exactly(sock, size, allow_eof=False)
    assert body is not None
    try:
        return json.loads(body.decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError) as error:
        raise WireError(f"unreadable message: {type(error).__name__}") from error


def _recv_exactly(sock: socket.socket, size: int, *, allow_eof: bool) -> bytes | None:
    buffer = bytearray()
    while len(buffer) < size:
        try:
            chunk = sock.recv(min(size - len(buffer), 1 << 20))
        except OSError as error:
            raise WireError(f"channel failed: {error}") from error
        if not chunk:
            if allow_eof and not buffer:
                return None
            raise WireError("channel closed in the middle of a message")
        buffer += chunk
    return bytes(buffer)


def send_with_fd(sock: socket.socket, message: Any, fd: int) -> None:
    """Send a message with a file descriptor attached (SCM_RIGHTS) to its first byte."""
    socket.send_fds(sock, [b"F"], [fd])
    send_frame(sock, message)


def recv_with_fd(sock: socket.socket) -> tuple[Any, int] | None:
    """Receive what `send_with_fd` sent; `None` on a clean end of the channel."""
    marker, fds, _flags, _addr = socket.recv_fds(sock, 1, 1)
    if not marker:
        return None
    if marker != b"F" or len(fds) != 1:
        raise WireError("expected a message with one file descriptor")
    message = recv_frame(sock)
    if message is None:
        raise WireError("channel closed after a file descriptor")
    return message, fds[0]
