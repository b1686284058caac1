from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from concept_distill.errors import ModelError
from concept_distill.models import (
    ModelConfig,
    ModelSet,
    ResponseCache,
    RoleModel,
    Spend,
    SpendMeter,
    SpendReport,
)
from concept_distill.testing import Fail, FakeOpenAIServer, Reply

pytestmark = pytest.mark.anyio
ConfigFactory = Callable[..., ModelConfig]


async def test_paid_and_cached_usage_are_summed_separately_and_priced(
    server: FakeOpenAIServer, make_config: ConfigFactory, tmp_path: Path
):
    server.add_script(*[Reply("x", prompt_tokens=100, completion_tokens=40)] * 3)
    config = make_config(input_price_per_mtok=2.0, output_price_per_mtok=8.0)
    model = RoleModel("teacher", config, cache=ResponseCache(tmp_path / "cache.db"))

    for question in ("a", "b", "c", "a"):
        await model.complete([("user", question)])
    spend = model.spend()

    assert (spend.calls, spend.cached_calls) == (3, 1)
    assert (spend.prompt_tokens, spend.completion_tokens) == (300, 120)
    assert (spend.cached_prompt_tokens, spend.cached_completion_tokens) == (100, 40)
    assert spend.cost_usd == pytest.approx((300 * 2.0 + 120 * 8.0) / 1_000_000)
    assert spend.model == "fake-model"


async def test_failures_retries_and_time_are_counted(
    server: FakeOpenAIServer, make_config: ConfigFactory
):
    server.latency_s = 0.05
    server.add_script(Fail(500), "ok", Fail(400))
    model = RoleModel("student", make_config(max_retries=1))

    await model.complete([("user", "one")])
    with pytest.raises(ModelError):
        await model.complete([("user", "two")])
    spend = model.spend()

    assert (spend.calls, spend.failed_calls, spend.retries) == (1, 1, 1)
    assert spend.call_seconds >= 3 * 0.05
    assert spend.wall_seconds >= spend.call_seconds * 0.99
    assert spend.cost_usd is None


async def test_usage_comes_from_the_endpoint_report(
    server: FakeOpenAIServer, make_config: ConfigFactory
):
    server.add_script(Reply("three word reply", prompt_tokens=17, completion_tokens=3))
    model = RoleModel("student", make_config())

    reply = await model.complete([("user", "hi")])

    assert (reply.prompt_tokens, reply.completion_tokens) == (17, 3)
    assert (model.spend().prompt_tokens, model.spend().completion_tokens) == (17, 3)


async def test_spend_report_prints_and_round_trips_as_json(
    server: FakeOpenAIServer, make_config: ConfigFactory, tmp_path: Path
):
    configs = {
        "student": make_config(input_price_per_mtok=1.0, output_price_per_mtok=1.0),
        "teacher": make_config(input_price_per_mtok=3.0, output_price_per_mtok=3.0),
    }
    async with ModelSet(configs) as models:
        await models["student"].complete([("user", "one two")])
        await models["teacher"].complete([("user", "three four five")])
        report = models.spend()

    saved = tmp_path / "spend.json"
    saved.write_text(report.model_dump_json(indent=2))
    loaded = SpendReport.model_validate_json(saved.read_text())

    assert loaded == report
    assert set(json.loads(saved.read_text())["roles"]) == {"student", "teacher"}
    assert loaded.roles["teacher"].prompt_tokens == 3
    assert report.total_cost_usd == pytest.approx((2 + 1) * 1e-6 + (3 + 1) * 3e-6)
    text = report.render()
    assert "student: 1 calls" in text
    assert "teacher: 1 calls" in text
    assert "total: $" in text


def test_wall_time_spans_overlapping_calls_once(monkeypatch: pytest.MonkeyPatch):
    clock = {"now": 0.0}
    monkeypatch.setattr(
        "concept_distill.models.accounting.time", SimpleNamespace(monotonic=lambda: clock["now"])
    )
    meter = SpendMeter("student")
    # Three calls in flight at once: A runs 10 -> 14, B 11 -> 13, C 12 -> 15 (each is recorded
    # when it ends, so B first). A failed call and a cache hit take part in the span too.
    clock["now"] = 13.0
    meter.paid(prompt=1, completion=1, started=11.0, retries=0)
    clock["now"] = 14.0
    meter.failed(started=10.0, retries=1)
    clock["now"] = 15.0
    meter.cached(prompt=1, completion=1, started=12.0)
    spend = meter.snapshot()

    assert isinstance(spend, Spend)
    # Durations add up, overlaps included: 2 + 4 + 3.
    assert spend.call_seconds == pytest.approx(9.0)
    # Wall time is counted once, from the first start (10) to the last end (15).
    assert spend.wall_seconds == pytest.approx(5.0)
