from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

from concept_distill.errors import ModelError
from concept_distill.models import ModelConfig, RoleModel
from concept_distill.testing import Fail, FakeOpenAIServer, Hang, Malformed

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
    server.add_script(*[Fail(503)] * 5)
    model = RoleModel("teacher", make_config(max_retries=2))

    with pytest.raises(ModelError) as caught:
        await model.complete(HELLO)

    message = str(caught.value)
    assert "teacher" in message
    assert f"127.0.0.1:{server.port}/v1" in message
    assert "HTTP 503" in message
    assert "3 attempt(s)" in message
    assert caught.value.retryable
    # Exactly 1 + max_retries requests: the SDK did not retry on its own as well.
    assert server.request_count == 3
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

    with pytest.raises(ModelError, match="connection failed") as caught:
        await model.complete(HELLO)

    assert caught.value.retryable
    assert "3 attempt(s)" in str(caught.value)
    assert model.spend().retries == 2
