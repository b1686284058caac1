"""A fake OpenAI-compatible chat server on 127.0.0.1 for tests that must not touch the network.

It answers `POST /v1/chat/completions` from a script of actions (a reply, an error status, a hang,
a malformed body, a connection reset, a reply without choices) or from a function (such as
`FaultInjector`, which makes a share of requests fault), and records every request it sees: tests
assert on what was sent (bodies and headers, e.g. that no secret leaked), how many requests
arrived and how many were in flight at once. It serves both plain and streamed
(`"stream": true`) completions, so it works under LangGraph's `stream_mode="messages"` too.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import itertools
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import anyio
from aiohttp import web

from concept_distill.testing.actions import (
    Action,
    EmptyChoices,
    Fail,
    Hang,
    Malformed,
    RecordedRequest,
    Reply,
    ReplyFunction,
    Reset,
)
from concept_distill.testing.openai_wire import (
    completion,
    empty_choices,
    empty_stream,
    error_response,
    stream,
)

__all__ = [
    "Action",
    "EmptyChoices",
    "Fail",
    "FakeOpenAIServer",
    "Hang",
    "Malformed",
    "RecordedRequest",
    "Reply",
    "ReplyFunction",
    "Reset",
]


@dataclass
class _Counters:
    in_flight: int = 0
    max_in_flight: int = 0
    requests: list[RecordedRequest] = field(default_factory=list)


class FakeOpenAIServer:
    """An OpenAI-compatible chat server on an ephemeral loopback port.

    Use as `async with FakeOpenAIServer(script=[Fail(429, retry_after=0.2), "hi"]) as server:`
    and point a client at `server.base_url`. Scripted actions are used in arrival order; when the
    script runs out, `reply` (a function of the request) decides, and without one the server says
    "ok". `latency_s` is added before every chat reply.
    """

    def __init__(
        self,
        script: Sequence[Action | str] = (),
        *,
        reply: ReplyFunction | None = None,
        latency_s: float = 0.0,
        api_key: str | None = None,
        model: str = "fake-model",
    ) -> None:
        """Configure the server; nothing listens until it is entered or started.

        Args:
            script: actions for the first requests, in arrival order.
            reply: decides for requests after the script; it may be async.
            latency_s: delay added before every chat reply (to mimic a model's time).
            api_key: when set, requests without `Authorization: Bearer <api_key>` get 401.
            model: the model id reported by `/v1/models` and in replies.
        """
        self._script = list(script)
        self._reply = reply
        self.latency_s = latency_s
        self._api_key = api_key
        self.model = model
        self._counters = _Counters()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (ending in `/v1`) to give a client."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every chat-completion request received so far, in arrival order."""
        return list(self._counters.requests)

    @property
    def request_count(self) -> int:
        """How many chat-completion requests arrived (including failed and hung ones)."""
        return len(self._counters.requests)

    @property
    def max_in_flight(self) -> int:
        """The largest number of chat requests being handled at the same moment."""
        return self._counters.max_in_flight

    def add_script(self, *actions: Action | str) -> None:
        """Append actions to the script (used by later requests)."""
        self._script.extend(actions)

    async def start(self) -> None:
        """Bind to 127.0.0.1 on a free port and start serving."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def aclose(self) -> None:
        """Stop serving; hung handlers are cancelled."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeOpenAIServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"object": "list", "data": [{"id": self.model, "object": "model"}]}
        )

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            headers=dict(request.headers),
            body=await request.text(),
            received_at=time.monotonic(),
        )
        counters = self._counters
        counters.requests.append(recorded)
        counters.in_flight += 1
        counters.max_in_flight = max(counters.max_in_flight, counters.in_flight)
        try:
            if self._api_key is not None and (
                request.headers.get("Authorization") != f"Bearer {self._api_key}"
            ):
                return error_response(401, "invalid api key")
            action = await self._next_action(recorded)
            if self.latency_s:
                await anyio.sleep(self.latency_s)
            return await self._perform(action, recorded, request)
        finally:
            counters.in_flight -= 1

    async def _next_action(self, recorded: RecordedRequest) -> Action:
        if self._script:
            chosen: Action | str = self._script.pop(0)
        elif self._reply is not None:
            produced = self._reply(recorded)
            chosen = await produced if inspect.isawaitable(produced) else produced
        else:
            chosen = Reply()
        return Reply(content=chosen) if isinstance(chosen, str) else chosen

    async def _perform(
        self, action: Action, recorded: RecordedRequest, request: web.Request
    ) -> web.StreamResponse:
        if isinstance(action, Fail):
            headers = {} if action.retry_after is None else {"Retry-After": f"{action.retry_after}"}
            return error_response(action.status, action.message, headers)
        if isinstance(action, Hang):
            await anyio.sleep(action.seconds)
            return error_response(504, "hung request finally gave up")
        if isinstance(action, Malformed):
            return web.Response(status=200, text=action.body, content_type="application/json")
        body = recorded.json if isinstance(recorded.json, dict) else {}
        if isinstance(action, Reset):
            _reset(request)
            return web.Response(status=500)  # never sent: the connection is gone
        if isinstance(action, EmptyChoices):
            if body.get("stream"):
                return await empty_stream(request)
            return web.json_response(empty_choices(body, f"chatcmpl-fake-{next(self._ids)}"))
        if action.delay_s:
            await anyio.sleep(action.delay_s)
        reply = completion(
            action, body, completion_id=f"chatcmpl-fake-{next(self._ids)}", model=self.model
        )
        if body.get("stream"):
            return await stream(reply, body, request)
        return web.json_response(reply)


def _reset(request: web.Request) -> None:
    """Abort the connection with a TCP RST (SO_LINGER 0), so the client sees a reset."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def main(argv: list[str] | None = None) -> int:
    """Serve replies of "ok" until interrupted; prints the base URL first (used by benchmarks)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per reply")
    args = parser.parse_args(argv)

    async def serve() -> None:
        async with FakeOpenAIServer(latency_s=args.latency) as server:
            print(server.base_url, flush=True)
            await anyio.sleep_forever()

    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(serve)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
