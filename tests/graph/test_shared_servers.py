"""Servers shared by concurrent invocations: one sandbox pool for two runs at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from langgraph.checkpoint.memory import InMemorySaver

from concept_distill.config import Config
from concept_distill.graph import build_graph
from concept_distill.graph.shared import SHARED, SharedPool
from concept_distill.sandbox import Sandbox
from concept_distill.tasks import build_task
from concept_distill.testing import ScriptedChatModel

pytestmark = pytest.mark.anyio
RULE = "When you write the function, keep the given signature and return a value on every path."


class Counted:
    """An async context manager that counts how often it was started and stopped."""

    started = 0
    stopped = 0

    async def __aenter__(self) -> Counted:
        type(self).started += 1
        await anyio.sleep(0.01)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        type(self).stopped += 1


async def test_the_pool_starts_once_for_overlapping_holders_and_stops_after_the_last() -> None:
    pool = SharedPool()
    Counted.started = Counted.stopped = 0
    entered = anyio.Event()
    release = anyio.Event()

    async def hold() -> None:
        async with pool.acquire("k", Counted) as value:
            assert isinstance(value, Counted)
            entered.set()
            await release.wait()

    async with anyio.create_task_group() as group:
        group.start_soon(hold)
        group.start_soon(hold)
        await entered.wait()
        await anyio.sleep(0.05)
        assert pool.users("k") == 2 and Counted.started == 1
        release.set()
    assert (Counted.started, Counted.stopped, pool.users("k")) == (1, 1, 0)
    async with pool.acquire("k", Counted):
        pass
    assert (Counted.started, Counted.stopped) == (2, 2), "a new holder after the last starts anew"


def code_student() -> ScriptedChatModel:
    """Writes the canonical solution for every problem, but without RULE only for every third."""
    task = build_task("humaneval")
    examples = {task.render(example): example for example in task.load()}

    def reply(messages: list[Any]) -> str:
        system = str(messages[0]["content"]) if messages[0]["role"] == "system" else ""
        example = examples[str(messages[-1]["content"])]
        number = int(example.id.split("/")[1])
        body = example.answer if RULE in system or number % 3 == 0 else "    return None\n"
        return f"```python\n{example.question}{body}\n```"

    return ScriptedChatModel(role="student", reply=reply)


async def test_two_concurrent_runs_share_one_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    starts: list[int] = []
    original = Sandbox.start

    async def counting_start(self: Sandbox) -> None:
        starts.append(id(self))
        await original(self)

    monkeypatch.setattr(Sandbox, "start", counting_start)
    config = Config.model_validate(
        {
            "task": {"name": "humaneval"},
            "splits": {"seed": 3, "train": 6, "validation": 16, "test": 6},
            "loop": {"max_iterations": 1},
            "acceptance": {"policy": "paired_test"},
            "run_dir": str(tmp_path / "runs"),
            "cache_path": None,
        }
    )
    teacher_reply = json.dumps({"diagnosis": "d", "rules": [{"rule": RULE, "mistakes": [1]}]})
    outputs: dict[str, Any] = {}
    peak = 0

    async def invoke(thread: str) -> None:
        graph = build_graph(
            config,
            student=code_student(),
            teacher=ScriptedChatModel(role="teacher", reply=lambda _m: teacher_reply),
            checkpointer=InMemorySaver(),
        )
        outputs[thread] = await graph.ainvoke({}, {"configurable": {"thread_id": thread}})

    async def watch() -> None:
        nonlocal peak
        while len(outputs) < 2:
            peak = max(peak, *(SHARED.users(key) for key in list(SHARED._entries)), 0)
            await anyio.sleep(0.01)

    async with anyio.create_task_group() as group:
        group.start_soon(invoke, "one")
        group.start_soon(invoke, "two")
        group.start_soon(watch)
    assert len(starts) == 1, "the second run must use the first run's sandbox"
    assert peak == 2
    assert not SHARED._entries, "the last run to finish stops the sandbox"
    for output in outputs.values():
        assert RULE in output["optimized_prompt"], [
            (r["status"], r["reason"]) for r in output["rules"]
        ]
        assert (
            json.loads((Path(output["run_dir"]) / "metrics.json").read_text())[
                "test_accuracy_final"
            ]
            == 1.0
        )
