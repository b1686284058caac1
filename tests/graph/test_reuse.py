"""A graph built once serves many invocations: in a row, concurrently, and on a finished thread.

Roles reach real HTTP endpoints (fake OpenAI-compatible servers), so a client closed by one
invocation would fail the next (`Cannot send a request, as the client has been closed`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from langgraph.checkpoint.memory import InMemorySaver
from support.fakes import HELPFUL, USELESS, make_config, student_http_reply, teacher_http_reply

from concept_distill.graph import build_graph
from concept_distill.graph.scope import owned_runs
from concept_distill.testing import FakeOpenAIServer

pytestmark = pytest.mark.anyio


def endpoint_config(tmp_path: Path, student: str, teacher: str) -> Any:
    config = make_config(tmp_path, max_iterations=2)
    data = config.model_dump(mode="json")
    data["models"] = {
        "student": {"base_url": student, "model": "s", "max_retries": 0},
        "teacher": {"base_url": teacher, "model": "t", "max_retries": 0},
    }
    return type(config).model_validate(data)


def read(path: str | Path) -> str:
    return Path(path).read_text()


def assert_complete(output: dict[str, Any]) -> Path:
    run_dir = Path(output["run_dir"])
    for name in ("config.yaml", "splits.json", "rules.jsonl", "metrics.json", "report.html",
                 "optimized_prompt.json", "spend.json", "calls.jsonl", "run.log"):  # fmt: skip
        assert (run_dir / name).is_file(), name
    assert output["report_path"] == str(run_dir / "report.html")
    assert HELPFUL in output["optimized_prompt"]
    accepted = [rule for rule in output["rules"] if rule["status"] == "accepted"]
    assert [rule["text"] for rule in accepted] == [HELPFUL]
    document = json.loads((run_dir / "optimized_prompt.json").read_text())
    assert document["prompt"] == output["optimized_prompt"]
    return run_dir


async def test_one_graph_three_times_in_a_row_and_twice_at_once(tmp_path: Path) -> None:
    async with (
        FakeOpenAIServer(reply=student_http_reply) as student,
        FakeOpenAIServer(reply=teacher_http_reply(USELESS, HELPFUL)) as teacher,
    ):
        config = endpoint_config(tmp_path, student.base_url, teacher.base_url)
        graph = build_graph(config, checkpointer=InMemorySaver())
        outputs = []
        for thread in ("a", "b", "c"):
            outputs.append(await graph.ainvoke({}, {"configurable": {"thread_id": thread}}))
            assert owned_runs() == [], "an invocation must release what it opened"
        concurrent: dict[str, Any] = {}

        async def invoke(thread: str) -> None:
            concurrent[thread] = await graph.ainvoke({}, {"configurable": {"thread_id": thread}})

        async with anyio.create_task_group() as group:
            group.start_soon(invoke, "d")
            group.start_soon(invoke, "e")
        outputs += [concurrent["d"], concurrent["e"]]
        requests = len(student.requests)
    run_dirs = [assert_complete(output) for output in outputs]
    assert len(set(run_dirs)) == 5
    assert owned_runs() == []
    # The same work in each run: identical outcomes, separate files.
    metrics = [json.loads((d / "metrics.json").read_text()) for d in run_dirs]
    assert len({m["test_accuracy_final"] for m in metrics}) == 1
    # Replies are cached across runs (one cache under config.run_dir): each paid call is one
    # request the server saw, and every run accounts for all of its calls, paid or cached.
    student_spend = [m["spend"]["roles"]["student"] for m in metrics]
    assert sum(s["calls"] for s in student_spend) == requests
    assert student_spend[0]["calls"] > 0
    totals = {s["calls"] + s["cached_calls"] for s in student_spend}
    assert len(totals) == 1


async def test_a_new_input_on_a_finished_thread_starts_a_fresh_run(tmp_path: Path) -> None:
    async with (
        FakeOpenAIServer(reply=student_http_reply) as student,
        FakeOpenAIServer(reply=teacher_http_reply(USELESS, HELPFUL)) as teacher,
    ):
        config = endpoint_config(tmp_path, student.base_url, teacher.base_url)
        graph = build_graph(config, checkpointer=InMemorySaver())
        thread = {"configurable": {"thread_id": "same"}}
        first = await graph.ainvoke({}, thread)
        first_report = read(first["report_path"])
        second = await graph.ainvoke({"base_prompt": "Solve the problem."}, thread)
    assert first["run_dir"] != second["run_dir"]
    # The second run starts from its own base prompt and inherits none of the first's rules.
    assert second["optimized_prompt"].startswith("Solve the problem.")
    assert len(second["rules"]) == len(first["rules"])
    first_ids = {rule["id"] for rule in first["rules"]}
    assert {rule["id"] for rule in second["rules"]} == first_ids
    assert all(rule["iteration"] >= 1 for rule in second["rules"])
    # The first run's directory is left as it was.
    assert read(first["report_path"]) == first_report
    splits = [read(Path(run["run_dir"]) / "splits.json") for run in (first, second)]
    assert splits[0] == splits[1]
