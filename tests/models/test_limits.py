from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest

from concept_distill.models import EndpointLimits, ModelConfig, ModelSet, RoleModel
from concept_distill.testing import Fail, FakeOpenAIServer

pytestmark = pytest.mark.anyio
ConfigFactory = Callable[..., ModelConfig]


async def _many(model: RoleModel, count: int) -> None:
    async with anyio.create_task_group() as group:
        for index in range(count):
            group.start_soon(model.complete, [("user", f"question {index}")])


async def test_concurrency_limit_bounds_requests_in_flight_at_the_server(
    server: FakeOpenAIServer, make_config: ConfigFactory
):
    server.latency_s = 0.1
    model = RoleModel("student", make_config(max_concurrency=3))

    await _many(model, 12)

    assert server.request_count == 12
    assert server.max_in_flight == 3


async def test_roles_on_one_endpoint_share_the_tightest_limit(
    server: FakeOpenAIServer, make_config: ConfigFactory
):
    server.latency_s = 0.1
    configs = {
        "student": make_config(max_concurrency=4),
        "teacher": make_config(max_concurrency=2),
    }
    async with ModelSet(configs) as models, anyio.create_task_group() as group:
        for index in range(6):
            group.start_soon(models["student"].complete, [("user", f"s{index}")])
            group.start_soon(models["teacher"].complete, [("user", f"t{index}")])

    assert server.request_count == 12
    assert server.max_in_flight == 2


async def test_rate_limit_spaces_requests(server: FakeOpenAIServer, make_config: ConfigFactory):
    model = RoleModel("student", make_config(max_concurrency=8, requests_per_second=20))

    await _many(model, 6)

    arrivals = sorted(request.received_at for request in server.requests)
    # Six requests at 20/s need at least five intervals of 50 ms (allowing 10% polling slack).
    assert arrivals[-1] - arrivals[0] >= 5 * 0.05 * 0.9


async def test_retry_after_pauses_other_calls_to_the_endpoint(
    server: FakeOpenAIServer, make_config: ConfigFactory
):
    server.add_script(Fail(429, retry_after=0.5))
    server.latency_s = 0.05
    model = RoleModel("student", make_config(max_concurrency=1, retry_backoff_s=0.0))

    async with anyio.create_task_group() as group:
        group.start_soon(model.complete, [("user", "first")])
        await anyio.sleep(0.02)
        group.start_soon(model.complete, [("user", "second")])

    arrivals = [request.received_at for request in server.requests]
    assert len(arrivals) == 3
    # The queued call waited out the pause too, instead of hitting the overloaded endpoint.
    assert min(arrivals[1:]) - arrivals[0] >= 0.5


def test_tighten_keeps_the_smaller_values():
    limits = EndpointLimits(max_concurrency=8, requests_per_second=10)

    limits.tighten(max_concurrency=3, requests_per_second=None)
    limits.tighten(max_concurrency=5, requests_per_second=2)

    assert limits.capacity.total_tokens == 3
    assert limits.rate is not None
    assert limits.rate.requests_per_second == 2
