"""`CountingProxy`: a loopback HTTP proxy in front of a real server that counts what passes.

Client-side counters can be fooled by the client itself; a proxy counts the requests that really
reached the server, and the usage the server really reported, e.g. to prove a cache hit made no
call or a resumed run repeated none.
"""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web


class CountingProxy:
    """Forwards every request to `target` (an `http://host:port` root) and records it."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.requests: list[dict[str, Any]] = []
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0}
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL through the proxy."""
        return f"http://127.0.0.1:{self.port}/v1"

    def chat_requests(self) -> list[dict[str, Any]]:
        """The chat-completion requests that passed, in order."""
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    async def __aenter__(self) -> CountingProxy:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server: Any = site._server
        self.port = int(server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host",)}
        url = f"{self.target}{request.rel_url}"
        async with self._session.request(request.method, url, data=body, headers=headers) as reply:
            payload = await reply.read()
            self.requests.append(
                {"path": request.path, "body": body.decode("utf-8", "replace"),
                 "status": reply.status}
            )  # fmt: skip
            self._count_usage(payload)
            response = web.Response(body=payload, status=reply.status)
            response.content_type = reply.content_type
            return response

    def _count_usage(self, payload: bytes) -> None:
        try:
            usage = json.loads(payload).get("usage") or {}
        except (ValueError, AttributeError):
            return
        for key in self.usage:
            self.usage[key] += int(usage.get(key, 0))
