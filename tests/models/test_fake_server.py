from __future__ import annotations

import httpx
import pytest

from concept_distill.testing import Fail, FakeOpenAIServer, Malformed, RecordedRequest, Reply

pytestmark = pytest.mark.anyio
CHAT = {"model": "m", "messages": [{"role": "user", "content": "one two three"}]}


async def test_script_then_reply_function_then_default():
    def reply(request: RecordedRequest) -> str:
        return "from function: " + request.json["messages"][0]["content"]

    async with (
        FakeOpenAIServer(["scripted"], reply=reply) as server,
        httpx.AsyncClient(base_url=server.base_url) as client,
    ):
        first = (await client.post("/chat/completions", json=CHAT)).json()
        second = (await client.post("/chat/completions", json=CHAT)).json()

    assert first["choices"][0]["message"]["content"] == "scripted"
    assert second["choices"][0]["message"]["content"] == "from function: one two three"
    assert first["usage"] == {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    assert server.request_count == 2


async def test_errors_malformed_bodies_and_auth():
    script = [Fail(429, retry_after=1.5), Malformed("{oops")]
    async with (
        FakeOpenAIServer(script, api_key="k") as server,
        httpx.AsyncClient(
            base_url=server.base_url, headers={"Authorization": "Bearer k"}
        ) as client,
    ):
        limited = await client.post("/chat/completions", json=CHAT)
        broken = await client.post("/chat/completions", json=CHAT)
        unauthorised = await client.post(
            "/chat/completions", json=CHAT, headers={"Authorization": "Bearer wrong"}
        )

    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "1.5")
    assert (broken.status_code, broken.text) == (200, "{oops")
    assert unauthorised.status_code == 401
    assert server.requests[2].headers["Authorization"] == "Bearer wrong"


async def test_streamed_reply_ends_with_usage_and_done():
    body = CHAT | {"stream": True, "stream_options": {"include_usage": True}}
    script = [Reply("a b", prompt_tokens=5, completion_tokens=2)]
    async with (
        FakeOpenAIServer(script) as server,
        httpx.AsyncClient(base_url=server.base_url) as client,
    ):
        text = (await client.post("/chat/completions", json=body)).text

    events = [line.removeprefix("data: ") for line in text.splitlines() if line]
    assert events[-1] == "[DONE]"
    assert '"usage": {"prompt_tokens": 5' in events[-2]
    assert '"content": " b"' in text
