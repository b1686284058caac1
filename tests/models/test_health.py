"""Failure is loud: a refused key or model stops at once, sustained failure stops the run."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from concept_distill.errors import ModelError, ModelUnavailable
from concept_distill.models import ModelConfig, RoleModel
from concept_distill.models.health import RoleHealth
from concept_distill.testing import EmptyChoices, Fail, FakeOpenAIServer, Hang, Malformed, Reply

ConfigFactory = Callable[..., ModelConfig]
HELLO = [("user", "hello")]


def test_breaker_opens_on_the_nth_consecutive_failure_only() -> None:
    health = RoleHealth("student", "http://h/v1", max_consecutive_failures=3)
    error = ModelError("student model 'm' at http://h/v1 failed after 1 attempt(s): HTTP 500")

    assert health.failed(error, fatal=False) is error
    assert health.failed(error, fatal=False) is error
    opened = health.failed(error, fatal=False)

    assert isinstance(opened, ModelUnavailable)
    assert opened.role == "student" and opened.endpoint == "http://h/v1"
    assert "3 consecutive failed calls" in str(opened) and "HTTP 500" in str(opened)
    with pytest.raises(ModelUnavailable):
        health.check()


def test_a_success_resets_the_count() -> None:
    health = RoleHealth("teacher", "http://h/v1", max_consecutive_failures=2)
    error = ModelError("boom")

    assert health.failed(error, fatal=False) is error
    health.succeeded()
    assert health.failed(error, fatal=False) is error
    health.check()


def test_a_fatal_failure_opens_at_once() -> None:
    health = RoleHealth("student", "http://h/v1", max_consecutive_failures=10)

    opened = health.failed(ModelError("HTTP 401: invalid api key"), fatal=True)

    assert isinstance(opened, ModelUnavailable)
    assert "HTTP 401" in str(opened) and "will not change by retrying" in str(opened)


@pytest.mark.anyio
@pytest.mark.parametrize("status", [401, 403, 404])
async def test_refused_key_or_unknown_model_stops_without_retries(
    server: FakeOpenAIServer, make_config: ConfigFactory, status: int
) -> None:
    server.add_script(Fail(status, message="no such thing"), "never reached")
    model = RoleModel("student", make_config(max_retries=4))

    with pytest.raises(ModelUnavailable) as caught:
        await model.complete(HELLO)

    assert f"HTTP {status}" in str(caught.value)
    assert f"127.0.0.1:{server.port}/v1" in str(caught.value)
    assert server.request_count == 1
    # Once open, no further call is paid.
    with pytest.raises(ModelUnavailable):
        await model.complete([("user", "another")])
    assert server.request_count == 1


@pytest.mark.anyio
async def test_consecutive_failures_open_the_breaker(
    server: FakeOpenAIServer, make_config: ConfigFactory
) -> None:
    server.add_script("warm", *[Fail(500)] * 6)
    model = RoleModel("student", make_config(max_retries=1, max_consecutive_failures=3))

    await model.complete([("user", "warm-up")])
    for question in ("a", "b"):
        with pytest.raises(ModelError):
            await model.complete([("user", question)])
    with pytest.raises(ModelUnavailable, match="3 consecutive failed calls"):
        await model.complete([("user", "c")])

    assert server.request_count == 7
    with pytest.raises(ModelUnavailable):
        await model.complete([("user", "d")])
    assert server.request_count == 7


@pytest.mark.anyio
async def test_a_reply_cut_at_max_tokens_is_an_answer_not_a_fault(
    server: FakeOpenAIServer, make_config: ConfigFactory
) -> None:
    server.add_script("warm", Fail(500), Reply("The answer is", finish_reason="length"), Fail(500))
    model = RoleModel("student", make_config(max_retries=0, max_consecutive_failures=2))

    await model.complete([("user", "warm-up")])
    with pytest.raises(ModelError):
        await model.complete([("user", "a")])
    cut = await model.complete([("user", "b")])
    with pytest.raises(ModelError) as caught:
        await model.complete([("user", "c")])

    assert cut.text == "The answer is" and cut.finish_reason == "length"
    assert not isinstance(caught.value, ModelUnavailable)
    assert model.spend().retries == 0


@pytest.mark.anyio
async def test_retries_are_logged_with_role_endpoint_status_and_attempt_but_no_key(
    server: FakeOpenAIServer,
    make_config: ConfigFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "sk-test-SECRET-4711"
    monkeypatch.setenv("FAKE_KEY", secret)
    server.add_script(
        "warm", Fail(503, message=f"overloaded for key {secret}"), Fail(429), *[Fail(502)] * 3
    )
    model = RoleModel("teacher", make_config(api_key_env="FAKE_KEY", max_retries=2))
    await model.complete([("user", "warm-up")])

    with (
        caplog.at_level(logging.INFO, logger="concept_distill.models"),
        pytest.raises(ModelError),
    ):
        await model.complete(HELLO)

    records = [r for r in caplog.records if r.name == "concept_distill.models"]
    retries = [r.getMessage() for r in records if r.levelno == logging.INFO]
    assert len(retries) == 2
    assert "teacher" in retries[0] and f"127.0.0.1:{server.port}/v1" in retries[0]
    assert "attempt 1" in retries[0] and "status 503" in retries[0]
    assert "attempt 2" in retries[1] and "status 429" in retries[1]
    gave_up = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(gave_up) == 1 and "HTTP 502" in gave_up[0] and "3 attempt(s)" in gave_up[0]
    assert all(secret not in r.getMessage() for r in records)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fault", "cause"),
    [(Fail(503), "HTTP 503"), (Hang(30), "timed out")],
    ids=["5xx", "time-out"],
)
async def test_an_endpoint_that_never_answered_stops_at_its_first_failed_call(
    server: FakeOpenAIServer, make_config: ConfigFactory, fault: Fail | Hang, cause: str
) -> None:
    server.add_script(*[fault] * 3)
    model = RoleModel("teacher", make_config(max_retries=2, timeout_s=0.3))

    with pytest.raises(ModelUnavailable, match="has not answered a single call") as caught:
        await model.complete(HELLO)

    assert cause in str(caught.value) and "3 attempt(s)" in str(caught.value)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fault", "attempts"),
    [
        (Fail(400, message="prompt too long"), 1),
        (Fail(429), 2),
        (Malformed(), 2),
        (EmptyChoices(), 2),
    ],
    ids=["400", "429", "truncated-body", "empty-choices"],
)
async def test_a_first_call_failing_for_its_own_reasons_is_one_failure(
    server: FakeOpenAIServer,
    make_config: ConfigFactory,
    fault: Fail | Malformed | EmptyChoices,
    attempts: int,
) -> None:
    """A bad request, a busy endpoint or a broken body say nothing about the endpoint being down."""
    server.add_script(*[fault] * attempts)
    model = RoleModel("student", make_config(max_retries=1, retry_backoff_s=0.0))

    with pytest.raises(ModelError):
        await model.complete(HELLO)
    assert (await model.complete([("user", "next")])).text == "ok"
