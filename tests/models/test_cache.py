from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from concept_distill.errors import ModelError
from concept_distill.models import ModelConfig, ResponseCache, RoleModel, cache_key
from concept_distill.testing import Fail, FakeOpenAIServer

pytestmark = pytest.mark.anyio
ConfigFactory = Callable[..., ModelConfig]
QUESTION = [("system", "be brief"), ("user", "what is 2+2?")]


async def test_repeat_call_is_served_from_cache_without_a_request(
    server: FakeOpenAIServer, make_config: ConfigFactory, tmp_path: Path
):
    server.add_script("four")
    model = RoleModel("student", make_config(), cache=ResponseCache(tmp_path / "cache.db"))

    first = await model.complete(QUESTION)
    second = await model.complete(QUESTION)

    assert server.request_count == 1
    assert (first.cached, second.cached) == (False, True)
    assert second.text == "four"
    assert second.prompt_tokens == first.prompt_tokens


async def test_cache_persists_across_clients_and_cache_instances(
    server: FakeOpenAIServer, make_config: ConfigFactory, tmp_path: Path
):
    path = tmp_path / "cache.db"
    first_cache = ResponseCache(path)
    await RoleModel("student", make_config(), cache=first_cache).complete(QUESTION)
    await first_cache.aclose()

    rerun = RoleModel("student", make_config(), cache=ResponseCache(path))
    reply = await rerun.complete(QUESTION)

    assert reply.cached
    assert server.request_count == 1
    assert rerun.spend().calls == 0


async def test_changed_sampling_parameters_miss_the_cache(
    server: FakeOpenAIServer, make_config: ConfigFactory, tmp_path: Path
):
    cache = ResponseCache(tmp_path / "cache.db")
    await RoleModel("student", make_config(), cache=cache).complete(QUESTION)
    await RoleModel("student", make_config(max_tokens=7), cache=cache).complete(QUESTION)
    await RoleModel("student", make_config(model="other"), cache=cache).complete(QUESTION)

    assert server.request_count == 3


@pytest.mark.parametrize("seed", [None, 100])
async def test_sampled_calls_get_one_cache_entry_per_sample_index(
    server: FakeOpenAIServer, make_config: ConfigFactory, tmp_path: Path, seed: int | None
):
    config = make_config(temperature=0.8, seed=seed)
    model = RoleModel("student", config, cache=ResponseCache(tmp_path / "cache.db"))

    await model.complete(QUESTION, sample_index=0)
    await model.complete(QUESTION, sample_index=1)
    again = await model.complete(QUESTION, sample_index=1)

    assert server.request_count == 2
    assert again.cached
    seeds = [request.json.get("seed") for request in server.requests]
    assert seeds == ([None, None] if seed is None else [100, 101])


async def test_greedy_calls_share_one_entry_whatever_the_sample_index(
    server: FakeOpenAIServer, make_config: ConfigFactory, tmp_path: Path
):
    model = RoleModel("student", make_config(), cache=ResponseCache(tmp_path / "cache.db"))

    await model.complete(QUESTION, sample_index=0)
    reply = await model.complete(QUESTION, sample_index=3)

    assert reply.cached
    assert server.request_count == 1


async def test_concurrent_identical_calls_make_one_request(
    server: FakeOpenAIServer, make_config: ConfigFactory, tmp_path: Path
):
    server.latency_s = 0.1
    model = RoleModel("student", make_config(), cache=ResponseCache(tmp_path / "cache.db"))
    replies = []

    async def ask() -> None:
        replies.append(await model.complete(QUESTION))

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(ask)

    assert server.request_count == 1
    assert sorted(reply.cached for reply in replies) == [False, True, True, True, True]


async def test_failed_calls_are_not_cached(
    server: FakeOpenAIServer, make_config: ConfigFactory, tmp_path: Path
):
    server.add_script(Fail(400), "second try works")
    model = RoleModel("student", make_config(), cache=ResponseCache(tmp_path / "cache.db"))

    with pytest.raises(ModelError):
        await model.complete(QUESTION)
    reply = await model.complete(QUESTION)

    assert reply.text == "second try works"
    assert not reply.cached


async def test_database_work_runs_off_the_event_loop_thread(
    server: FakeOpenAIServer,
    make_config: ConfigFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    cache = ResponseCache(tmp_path / "cache.db")
    threads: set[int] = set()
    for name in ("_open", "_select", "_insert_many"):
        original = getattr(cache, name)

        def spy(*args: object, _original: Callable[..., object] = original) -> object:
            threads.add(threading.get_ident())
            return _original(*args)

        monkeypatch.setattr(cache, name, spy)
    model = RoleModel("student", make_config(), cache=cache)

    await model.complete(QUESTION)
    await model.complete(QUESTION)

    assert threads
    assert threading.get_ident() not in threads


def test_cache_key_depends_on_every_part_of_the_request():
    base = {
        "endpoint": "http://h/v1",
        "model": "m",
        "messages": [{"role": "user", "content": "x"}],
        "params": {"temperature": 0.0},
        "sample_index": 0,
    }
    variants = [
        {"endpoint": "http://other/v1"},
        {"model": "n"},
        {"messages": [{"role": "user", "content": "y"}]},
        {"params": {"temperature": 0.5}},
        {"sample_index": 1},
    ]
    keys = {cache_key(**base)} | {cache_key(**(base | change)) for change in variants}

    assert len(keys) == 1 + len(variants)
    assert cache_key(**base) == cache_key(**dict(reversed(list(base.items()))))


async def test_concurrent_replies_are_all_stored(
    server: FakeOpenAIServer, make_config: ConfigFactory, tmp_path: Path
):
    server.latency_s = 0.02
    path = tmp_path / "cache.db"
    cache = ResponseCache(path)
    model = RoleModel("student", make_config(max_concurrency=8), cache=cache)

    async with anyio.create_task_group() as group:
        for index in range(20):
            group.start_soon(model.complete, [("user", f"question {index}")])
    await cache.aclose()

    assert await ResponseCache(path).count() == 20
