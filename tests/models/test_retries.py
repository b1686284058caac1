from __future__ import annotations

import socket
import time
from collections.abc import Callable

import anyio
import pytest

from concept_distill.errors import ModelError, ModelUnavailable
from concept_distill.models import ModelConfig, RoleModel
from concept_distill.testing import (
    DEFAULT_FAULTS,
    Action,
    EmptyChoices,
    Fail,
    FakeOpenAIServer,
    FaultInjector,
    Hang,
    Malformed,
    RecordedRequest,
    Reset,
)
from concept_distill.testing.faults import fault_name

pytestmark = pytest.mark.anyio
ConfigFactory = Callable[..., ModelConfig]

HELLO = [("user", "hello")]


async def test_429_waits_for_retry_after(server: FakeOpenAIServer, make_config: ConfigFactory):
    server.add_script(Fail(429, retry_after=0.4), "fine")
    # Zero backoff: any gap between the two attempts comes from honouring Retry-After.
    model = RoleModel("student", make_config(retry_backoff_s=0.0))

    reply = await model.complete(HELLO)

    first, second = server.requests
    assert reply.text == "fine"
    assert second.received_at - first.received_at >= 0.4
    assert model.spend().retries == 1


async def test_500_then_success(server: FakeOpenAIServer, make_config: ConfigFactory):
    server.add_script(Fail(500), "recovered")
    model = RoleModel("student", make_config())

    reply = await model.complete(HELLO)

    assert reply.text == "recovered"
    assert server.request_count == 2


async def test_timeout_then_success(server: FakeOpenAIServer, make_config: ConfigFactory):
    server.add_script(Hang(30), "late but fine")
    model = RoleModel("student", make_config(timeout_s=0.3))

    started = time.monotonic()
    reply = await model.complete(HELLO)

    assert reply.text == "late but fine"
    assert server.request_count == 2
    assert time.monotonic() - started < 5


async def test_exhausted_retries_raise_model_error_naming_role_and_endpoint(
    server: FakeOpenAIServer, make_config: ConfigFactory
):
    server.add_script("warm", *[Fail(503)] * 5)
    model = RoleModel("teacher", make_config(max_retries=2))
    await model.complete([("user", "warm-up")])

    with pytest.raises(ModelError) as caught:
        await model.complete(HELLO)

    message = str(caught.value)
    assert "teacher" in message
    assert f"127.0.0.1:{server.port}/v1" in message
    assert "HTTP 503" in message
    assert "3 attempt(s)" in message
    assert caught.value.retryable
    # Exactly 1 + max_retries requests: the SDK did not retry on its own as well.
    assert server.request_count == 1 + 3
    assert model.spend().failed_calls == 1


async def test_client_error_is_not_retried(server: FakeOpenAIServer, make_config: ConfigFactory):
    server.add_script(Fail(400, message="bad request"))
    model = RoleModel("student", make_config(max_retries=3))

    with pytest.raises(ModelError) as caught:
        await model.complete(HELLO)

    assert not caught.value.retryable
    assert server.request_count == 1


async def test_retry_after_longer_than_allowed_gives_up_at_once(
    server: FakeOpenAIServer, make_config: ConfigFactory
):
    server.add_script(Fail(429, retry_after=120))
    model = RoleModel("student", make_config(max_retry_wait_s=5))

    with pytest.raises(ModelError) as caught:
        await model.complete(HELLO)

    assert caught.value.retryable
    assert "Retry-After" in str(caught.value)
    assert server.request_count == 1


async def test_malformed_json_is_retried(server: FakeOpenAIServer, make_config: ConfigFactory):
    server.add_script(Malformed(), "valid now")
    model = RoleModel("student", make_config())

    reply = await model.complete(HELLO)

    assert reply.text == "valid now"
    assert server.request_count == 2


async def test_persistently_malformed_json_raises(
    server: FakeOpenAIServer, make_config: ConfigFactory
):
    server.add_script(*[Malformed()] * 3)
    model = RoleModel("student", make_config(max_retries=2))

    with pytest.raises(ModelError, match="malformed JSON"):
        await model.complete(HELLO)
    assert server.request_count == 3


async def test_connection_refused_is_retried_then_reported(make_config: ConfigFactory):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = make_config(base_url=f"http://127.0.0.1:{port}/v1", max_retries=2)
    model = RoleModel("student", config)

    # An endpoint that never answered stops the role at once (see test_health.py).
    with pytest.raises(ModelUnavailable, match="connection failed") as caught:
        await model.complete(HELLO)

    assert "3 attempt(s)" in str(caught.value)
    assert model.spend().retries == 2


async def test_connection_reset_is_retried(server: FakeOpenAIServer, make_config: ConfigFactory):
    server.add_script(Reset(), "after the reset")
    model = RoleModel("student", make_config())

    reply = await model.complete(HELLO)

    assert reply.text == "after the reset"
    assert server.request_count == 2 and model.spend().retries == 1


@pytest.mark.parametrize(
    "fault",
    [EmptyChoices(), Malformed("<html>502 Bad Gateway</html>"), Malformed('{"choices": null}')],
    ids=["empty-choices", "non-json", "null-choices"],
)
async def test_a_reply_without_a_usable_choice_is_retried(
    server: FakeOpenAIServer, make_config: ConfigFactory, fault: EmptyChoices | Malformed
):
    server.add_script(fault, "usable")
    model = RoleModel("student", make_config())

    reply = await model.complete(HELLO)

    assert reply.text == "usable"
    assert server.request_count == 2


async def test_persistent_empty_choices_is_a_model_error_not_a_crash(
    server: FakeOpenAIServer, make_config: ConfigFactory
):
    server.add_script(*[EmptyChoices()] * 3)
    model = RoleModel("student", make_config(max_retries=2))

    with pytest.raises(ModelError, match="unusable reply") as caught:
        await model.complete(HELLO)

    assert caught.value.retryable and "3 attempt(s)" in str(caught.value)


async def test_every_fault_of_the_menu_is_survived(make_config: ConfigFactory):
    """30% of requests fault, each kind at least once; every call still gets its own reply.

    Which request faults is drawn from its body, so 200 calls (about 60 faults of 10 kinds) make
    each kind all but certain whatever the exact bytes the client sends.
    """
    injector = FaultInjector(
        lambda request: "echo " + request.json["messages"][-1]["content"], rate=0.3, seed=11
    )
    async with FakeOpenAIServer(reply=injector) as faulty:
        config = make_config(
            base_url=faulty.base_url, max_retries=3, timeout_s=0.5, retry_backoff_s=0.0,
            max_concurrency=8,
        )  # fmt: skip
        model = RoleModel("student", config)
        replies: dict[int, str] = {}

        async def ask(i: int) -> None:
            replies[i] = (await model.complete([("user", f"question {i}")])).text

        async with anyio.create_task_group() as group:
            for i in range(200):
                group.start_soon(ask, i)
        requests = faulty.request_count
        await model.aclose()

    assert replies == {i: f"echo question {i}" for i in range(200)}
    assert set(injector.injected) == {fault_name(fault) for fault in DEFAULT_FAULTS}
    assert requests == 200 + sum(injector.injected.values())
    assert model.spend().retries == sum(injector.injected.values())
    assert model.spend().failed_calls == 0


async def test_a_malformed_body_never_crashes_an_evaluation(make_config: ConfigFactory):
    """Bodies that stay broken through every retry leave their examples unjudged, the rest run."""
    from concept_distill.agents.student import ChatStudent
    from concept_distill.agents.verifier import TaskVerifier
    from concept_distill.loop.evaluation import evaluate
    from concept_distill.tasks import build_task

    task = build_task("multiarith")
    examples = task.load()[:6]
    broken = {examples[1].question: EmptyChoices(), examples[4].question: Malformed("<html>")}

    def reply(request: RecordedRequest) -> Action | str:
        question = request.json["messages"][-1]["content"]
        match = next((action for text, action in broken.items() if text in question), None)
        return match or "The answer is 3."

    async with FakeOpenAIServer(reply=reply) as faulty:
        model = RoleModel("student", make_config(base_url=faulty.base_url, max_retries=1))
        result = await evaluate(
            "", examples, student=ChatStudent(model, task), verifier=TaskVerifier(task)
        )
        await model.aclose()

    unjudged = [r.example_id for r in result.results if r.judgement.outcome == "unjudged"]
    assert unjudged == [examples[1].id, examples[4].id]
    assert result.judged == 4
    assert "unusable reply" in result.results[1].judgement.reason
    assert "malformed JSON" in result.results[4].judgement.reason
