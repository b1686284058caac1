from __future__ import annotations

import httpx
import pytest

from concept_distill.testing import (
    DEFAULT_FAULTS,
    EmptyChoices,
    Fail,
    FakeOpenAIServer,
    FaultInjector,
    Malformed,
    RecordedRequest,
    Reply,
    Reset,
)
from concept_distill.testing.faults import fault_name

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


async def test_reset_drops_the_connection_without_a_reply():
    async with (
        FakeOpenAIServer([Reset(), "after"]) as server,
        httpx.AsyncClient(base_url=server.base_url) as client,
    ):
        with pytest.raises(httpx.TransportError):
            await client.post("/chat/completions", json=CHAT)
        after = (await client.post("/chat/completions", json=CHAT)).json()

    assert after["choices"][0]["message"]["content"] == "after"
    assert server.request_count == 2


async def test_empty_choices_is_valid_json_without_a_choice():
    async with (
        FakeOpenAIServer([EmptyChoices()]) as server,
        httpx.AsyncClient(base_url=server.base_url) as client,
    ):
        reply = await client.post("/chat/completions", json=CHAT)

    assert reply.status_code == 200
    assert reply.json()["choices"] == []


async def test_fault_injector_faults_the_given_share_reproducibly():
    def requests(n: int) -> list[RecordedRequest]:
        return [
            RecordedRequest("POST", "/v1/chat/completions", {}, f'{{"q": {i}}}', 0.0)
            for i in range(n)
        ]

    first, second = FaultInjector(rate=0.3, seed=5), FaultInjector(rate=0.3, seed=5)
    one = [await first(request) for request in requests(400)]
    # The same requests in another order get the same faults.
    two = [await second(request) for request in reversed(requests(400))]

    assert first.injected == second.injected
    assert [str(a) for a in one] == [str(a) for a in reversed(two)]
    faulted = sum(first.injected.values())
    assert 90 <= faulted <= 150  # 30% of 400 is 120
    assert set(first.injected) == {fault_name(fault) for fault in DEFAULT_FAULTS}
    assert first.answered == 400 - faulted


async def test_fault_injector_never_faults_one_request_more_than_allowed_in_a_row():
    injector = FaultInjector(rate=1.0, max_per_request=2, faults=[Fail(503)])
    same = RecordedRequest("POST", "/v1/chat/completions", {}, '{"q": 1}', 0.0)

    actions = [await injector(same) for _ in range(6)]

    assert actions == [Fail(503), Fail(503), Reply(), Fail(503), Fail(503), Reply()]
