"""The plain-data codec and the framing between the sandbox processes (no sandbox needed)."""

from __future__ import annotations

import json
import math
import os
import socket
import struct
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from concept_distill.sandbox import wire


def through_json(value: Any) -> Any:
    """Encode, serialize as the frames do, parse, decode."""
    text = json.dumps(wire.to_plain(value), ensure_ascii=False)
    return wire.from_plain(json.loads(text))


def same(left: Any, right: Any) -> bool:
    """Equal, with the same types all the way down (so True is not 1 and (1,) is not [1])."""
    if type(left) is not type(right):
        return False
    if isinstance(left, float):
        return (math.isnan(left) and math.isnan(right)) or (
            left == right and math.copysign(1, left) == math.copysign(1, right)
        )
    if isinstance(left, list | tuple):
        return len(left) == len(right) and all(map(same, left, right))
    if isinstance(left, dict):
        return len(left) == len(right) and all(
            same(lk, rk) and same(lv, rv)
            for (lk, lv), (rk, rv) in zip(left.items(), right.items(), strict=True)
        )
    return bool(left == right)


class Fake(int):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = int.__hash__


ROUND_TRIPS = [
    None,
    True,
    False,
    0,
    -7,
    2**200,
    -(3**500),
    1.5,
    -0.0,
    math.inf,
    -math.inf,
    math.nan,
    "",
    "héllo ☃ \U0001f600",
    "tab\tnew\nline\x00nul",
    "lone \ud800 surrogate",
    b"",
    b"\x00\xff binary",
    [],
    (),
    {},
    set(),
    frozenset(),
    [1, [2, [3]]],
    (1, (2, 3), [4, (5,)]),
    [(), ((),), [()]],
    {1, 2, 3},
    frozenset({(1, 2), "a", None}),
    {"a": 1, "b": [1, 2]},
    {1: "one", 2.5: "float", None: "none", False: "bool", (1, 2): "tuple"},
    {frozenset({1}): {"nested": ({"deep": b"bytes"},)}},
    {"t": [1], "s": [2], "d": [], "b": "not base64"},
    [{"t": 1}, {"b": 2}],
]


@pytest.mark.parametrize("value", ROUND_TRIPS, ids=repr)
def test_plain_values_survive_the_round_trip_with_their_types(value: Any) -> None:
    assert same(through_json(value), value)


def test_tuples_lists_sets_and_frozensets_stay_apart() -> None:
    decoded = through_json([(1, 2), [1, 2], {1, 2}, frozenset({1, 2})])
    assert [type(item) for item in decoded] == [tuple, list, set, frozenset]
    assert type(through_json({(1, 2): [3]})) is dict
    assert type(next(iter(through_json({(1, 2): [3]})))) is tuple


def test_bools_stay_bools_and_ints_stay_ints() -> None:
    assert [type(item) for item in through_json([True, 1, 1.0, False, 0])] == [
        bool,
        int,
        float,
        bool,
        int,
    ]


@pytest.mark.parametrize(
    "value",
    [
        Fake(5),
        type("Text", (str,), {})("x"),
        type("Real", (float,), {})(1.0),
        type("Items", (list,), {})([1]),
        type("Mapping", (dict,), {})(),
        OrderedDict(a=1),
        defaultdict(int),
        bytearray(b"x"),
        memoryview(b"x"),
        1 + 2j,
        object(),
        print,
        lambda: 1,
        (item for item in [1]),
        range(3),
        Ellipsis,
        NotImplemented,
        [1, [2, Fake(3)]],
        {"key": object()},
        {Fake(1): 1},
        (1, {2, Fake(3)}),
    ],
    ids=lambda value: type(value).__name__,
)
def test_anything_but_plain_builtins_is_refused(value: Any) -> None:
    with pytest.raises(wire.NotPlainData):
        wire.to_plain(value)


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def test_depth_is_capped_on_both_sides() -> None:
    assert same(through_json(nested(wire.MAX_DEPTH)), nested(wire.MAX_DEPTH))
    with pytest.raises(wire.NotPlainData):
        wire.to_plain(nested(wire.MAX_DEPTH + 1))
    with pytest.raises(wire.NotPlainData):
        wire.to_plain(nested(100_000))
    with pytest.raises(wire.WireError):
        wire.from_plain(nested(wire.MAX_DEPTH + 1))
    deep_tuple: Any = {"t": []}
    for _ in range(wire.MAX_DEPTH + 5):
        deep_tuple = {"t": [deep_tuple]}
    with pytest.raises(wire.WireError):
        wire.from_plain(deep_tuple)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"x": [1]},
        {"t": 5},
        {"t": "12"},
        {"t": [1], "s": [2]},
        {"s": [[1]]},
        {"fs": [{"s": []}]},
        {"d": [[1]]},
        {"d": [1, 2]},
        {"d": [[1, 2, 3]]},
        {"d": [[[1], 2]]},
        {"d": {"a": 1}},
        {"b": "not base64!"},
        {"b": 5},
        {"b": ["AA=="]},
        {"ok": 5},
        {"status": "passed"},
        (1, 2),
        {1, 2},
        b"raw",
        object(),
        [1, {"bogus": []}],
    ],
    ids=repr,
)
def test_decoder_refuses_malformed_values(data: Any) -> None:
    with pytest.raises(wire.WireError):
        wire.from_plain(data)


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    left, right = socket.socketpair()
    left.settimeout(10)
    right.settimeout(10)
    yield left, right
    left.close()
    right.close()


def test_frames_carry_messages_in_order(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    messages = [{"op": "call", "args": wire.to_plain((1, "ü", b"\x00"))}, [1, 2], "x", None, 5]
    for message in messages:
        wire.send_frame(left, message)
    left.close()
    assert [wire.recv_frame(right) for _ in messages] == messages
    assert wire.recv_frame(right) is None  # a clean end between messages


def test_a_big_frame_under_the_cap_arrives_whole(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    text = "x" * (wire.MAX_FRAME_BYTES - 1024)
    sender = threading.Thread(target=wire.send_frame, args=(left, text))
    sender.start()
    try:
        assert wire.recv_frame(right) == text
    finally:
        sender.join()


def test_sending_over_the_cap_is_refused(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    with pytest.raises(wire.NotPlainData):
        wire.send_frame(left, "x" * wire.MAX_FRAME_BYTES)
    right.setblocking(False)
    with pytest.raises(BlockingIOError):
        right.recv(1)  # nothing was sent


def test_a_header_announcing_too_much_is_refused_before_reading(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    left, right = pair
    left.sendall(struct.pack(">I", wire.MAX_FRAME_BYTES + 1))
    with pytest.raises(wire.WireError, match="limit"):
        wire.recv_frame(right)
    left.sendall(b"\xff\xff\xff\xff")
    with pytest.raises(wire.WireError):
        wire.recv_frame(right)


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00\x00",  # half a header
        struct.pack(">I", 10) + b"[1, 2",  # half a body
    ],
    ids=["header", "body"],
)
def test_a_frame_cut_short_is_an_error(
    pair: tuple[socket.socket, socket.socket], raw: bytes
) -> None:
    left, right = pair
    left.sendall(raw)
    left.close()
    with pytest.raises(wire.WireError, match="closed"):
        wire.recv_frame(right)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"\xff\xfe", b"[" * 200_000 + b"]" * 200_000, b""],
    ids=["syntax", "not utf-8", "too deep", "empty"],
)
def test_unreadable_bodies_are_errors(
    pair: tuple[socket.socket, socket.socket], body: bytes
) -> None:
    left, right = pair
    sender = threading.Thread(target=left.sendall, args=(struct.pack(">I", len(body)) + body,))
    sender.start()
    try:
        with pytest.raises(wire.WireError):
            wire.recv_frame(right)
    finally:
        sender.join()


def test_a_descriptor_travels_with_its_message(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    read_end, write_end = os.pipe()
    try:
        wire.send_with_fd(left, {"job": 1}, write_end)
        received = wire.recv_with_fd(right)
        assert received is not None
        message, fd = received
        assert message == {"job": 1}
        os.write(fd, b"ok")
        os.close(fd)
        assert os.read(read_end, 2) == b"ok"
    finally:
        os.close(read_end)
        os.close(write_end)
    left.close()
    assert wire.recv_with_fd(right) is None


def test_a_message_without_its_descriptor_is_refused(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    left, right = pair
    wire.send_frame(left, {"job": 1})
    with pytest.raises(wire.WireError):
        wire.recv_with_fd(right)
