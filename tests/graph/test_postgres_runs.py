"""Runs shared through PostgreSQL: resumed on another worker, and many at once on one database.

Real CLI processes against fake model servers and a real PostgreSQL server (see
`support/postgres.py`). Calls are counted where they are paid: at the servers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest
from support.configs import CLI, fake_role, write_config
from support.fakes import HELPFUL, USELESS, student_http_reply
from support.postgres import PASSWORD, PostgresServer, postgres_server

from concept_distill.config import load_config
from concept_distill.distillation import distill
from concept_distill.testing import FakeOpenAIServer, RecordedRequest

__all__ = ["postgres_server"]  # a fixture, used by name

pytestmark = pytest.mark.anyio
URL_ENV = "CONCEPT_DISTILL_DATABASE_URL"
SAME = ("test_accuracy_base", "test_accuracy_final", "rules_accepted", "rules_proposed",
        "iterations", "stop_reason", "test_examples")  # fmt: skip


class Counted:
    """A reply function that records what it answered, and from the `hold_from`-th request on
    holds every request unanswered until `release` (the worker is killed meanwhile)."""

    def __init__(self, reply: Any, hold_from: int | None = None) -> None:
        self.reply, self.hold_from = reply, hold_from
        self.seen = 0
        self.answered: list[str] = []
        self.holding = anyio.Event()
        self._released = anyio.Event()

    async def __call__(self, request: RecordedRequest) -> str:
        self.seen += 1
        holding = self.hold_from is not None and self.seen >= self.hold_from
        if holding and not self._released.is_set():
            self.holding.set()
            await self._released.wait()
            return self.reply(request)  # to a killed worker: never received
        self.answered.append(request.body)
        return self.reply(request)

    def release(self) -> None:
        self.hold_from = None
        self._released.set()


def teacher_reply(request: RecordedRequest) -> str:
    """HELPFUL for the students of even-numbered configs, a useless rule for the others."""
    even = any(f"assistant number {n}." in request.body for n in (0, 2, 4, 6, 8))
    rule = HELPFUL if even or "assistant number" not in request.body else USELESS
    return json.dumps({"diagnosis": "No final number.", "rules": [{"rule": rule, "mistakes": [1]}]})


def config_file(directory: Path, student: str, teacher: str, number: int = 0) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return write_config(
        directory,
        splits={"seed": 3 + number, "train": 6, "validation": 8, "test": 6},
        models={"student": fake_role(student, "s"), "teacher": fake_role(teacher, "t")},
        prompt={"base": f"You are assistant number {number}."},
        loop={"max_iterations": 1},
        concurrency=2,
        run_dir=str(directory / "runs"),
        storage={"backend": "postgres"},
    )


def outputs(run_dir: Path) -> dict[str, Any]:
    """What must not depend on how a run was executed."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    spend = json.loads((run_dir / "spend.json").read_text())["roles"]
    return {
        "prompt": json.loads((run_dir / "optimized_prompt.json").read_text()),
        "rules": [
            {key: rule[key] for key in ("text", "status", "accepted_order")}
            for rule in map(json.loads, (run_dir / "rules.jsonl").read_text().splitlines())
        ],
        "metrics": {key: metrics[key] for key in SAME},
        "paid calls": {role: spend[role]["calls"] for role in spend},
    }


def ledger_of(url: str, run_id: str) -> list[dict[str, Any]]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT record FROM concept_distill_calls WHERE run_id = %s ORDER BY seq", (run_id,)
        ).fetchall()
    return [json.loads(row[0]) for row in rows]


async def recorded(url: str, run_id: str, paid: int) -> None:
    """Return once the run's ledger holds `paid` paid replies."""
    for _ in range(6000):
        records = await anyio.to_thread.run_sync(ledger_of, url, run_id)
        if sum(r["kind"] == "reply" and not r["cached"] for r in records) >= paid:
            return
        await anyio.sleep(0.05)
    pytest.fail(f"the ledger never held {paid} paid replies")


def files_under(*directories: Path) -> list[Path]:
    return [path for d in directories for path in d.rglob("*") if path.is_file()]


async def test_a_run_killed_on_one_worker_is_resumed_by_another_in_an_empty_directory(
    postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reference: the same run, uninterrupted, in a database of its own.
    async with (
        FakeOpenAIServer(reply=student_http_reply) as student,
        FakeOpenAIServer(reply=teacher_reply) as teacher,
    ):
        monkeypatch.setenv(URL_ENV, postgres_server.create_database())
        config = load_config(
            config_file(tmp_path / "reference", student.base_url, teacher.base_url)
        )
        await distill(config, run_dir=tmp_path / "reference" / "run")
        reference_requests = student.request_count + teacher.request_count
    reference = outputs(tmp_path / "reference" / "run")
    assert reference["rules"][0]["status"] == "accepted"  # the run does something to resume

    url = postgres_server.create_database()
    env = {**os.environ, URL_ENV: url}
    first_dir, second_dir = tmp_path / "host-a" / "nightly-7", tmp_path / "host-b" / "elsewhere"
    held = Counted(student_http_reply, hold_from=18)  # mid-validation of the teacher's rule
    teacher_calls = Counted(teacher_reply)
    async with (
        FakeOpenAIServer(reply=held) as student,
        FakeOpenAIServer(reply=teacher_calls) as teacher,
    ):
        config_path = config_file(tmp_path / "host-a", student.base_url, teacher.base_url)
        first = await anyio.open_process(
            [*CLI, "run", str(config_path), "--run-dir", str(first_dir)],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        try:
            with anyio.fail_after(180):
                await held.holding.wait()
                # Every reply the worker got is in the ledger before it is killed: it then
                # holds nothing it was paid for but not recorded.
                answered = len(held.answered) + len(teacher_calls.answered)
                await recorded(url, "nightly-7", answered)
        finally:
            os.kill(first.pid, signal.SIGKILL)
            await first.wait()
        held_at_kill = held.seen - len(held.answered)
        answered_before = set(held.answered) | set(teacher_calls.answered)
        seen_at_kill = (held.seen, teacher_calls.seen)
        held.release()
        assert teacher_calls.answered, "killed before the teacher was asked"

        second_dir.mkdir(parents=True)  # another host's empty run directory
        resumed = await anyio.run_process(
            [*CLI, "run", "--resume-id", "nightly-7", "--run-dir", str(second_dir)],
            env=env,
            check=False,
        )
        asked_after = [
            request.body
            for request in student.requests[seen_at_kill[0] :] + teacher.requests[seen_at_kill[1] :]
        ]
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert held_at_kill >= 1
    # No completed call paid twice: nothing answered before the kill is asked again, and the
    # calls answered over both workers are exactly the uninterrupted run's.
    assert not answered_before & set(asked_after)
    answered_total = len(held.answered) + len(teacher_calls.answered)
    assert answered_total == reference_requests
    assert outputs(second_dir) == reference
    # Resumed from its checkpoint, not begun again: the second worker's session re-asked (from
    # the cache) only what the interrupted step had asked, not the whole first part of the run.
    ledger = ledger_of(url, "nightly-7")
    second_session = ledger[[r["kind"] for r in ledger].index("session", 1) :]
    assert [r["kind"] for r in ledger].count("session") == 2
    cached_again = sum(r["kind"] == "reply" and r["cached"] for r in second_session)
    assert cached_again < len(answered_before) / 2
    assert "run resumed" in (second_dir / "run.log").read_text()
    # Everything a resume needs was in the database: no checkpoint or ledger file anywhere.
    names = {path.name for path in files_under(first_dir, second_dir)}
    assert not names & {"checkpoints.sqlite", "calls.jsonl", "cache.sqlite"}
    written = {p.name for p in second_dir.iterdir()}
    assert {"config.yaml", "splits.json", "report.html", "metrics.json"} <= written
    assert (second_dir / "splits.json").read_text() == (first_dir / "splits.json").read_text()
    # The results of the evaluations the first worker finished are written here too, as they
    # were there; with those the second finished, this directory holds the reference's set.
    first_results = {p.name: p.read_text() for p in (first_dir / "results").iterdir()}
    second_results = {p.name: p.read_text() for p in (second_dir / "results").iterdir()}
    assert first_results and first_results.items() <= second_results.items()
    reference_results = {p.name for p in (tmp_path / "reference" / "run" / "results").iterdir()}
    assert set(second_results) == reference_results
    for path in files_under(first_dir, second_dir):
        assert PASSWORD not in path.read_text(errors="replace"), path
    assert PASSWORD not in resumed.stdout.decode() + resumed.stderr.decode()


async def test_eight_runs_at_once_on_one_database_end_as_they_do_one_by_one(
    postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers = range(8)
    async with (
        FakeOpenAIServer(reply=student_http_reply) as student,
        FakeOpenAIServer(reply=teacher_reply) as teacher,
    ):
        configs = {
            n: config_file(tmp_path / f"config-{n}", student.base_url, teacher.base_url, n)
            for n in numbers
        }
        monkeypatch.setenv(URL_ENV, postgres_server.create_database())
        for n in numbers:  # one by one, in this process
            await distill(load_config(configs[n]), run_dir=tmp_path / "alone" / f"run-{n}")

        env = {**os.environ, URL_ENV: postgres_server.create_database()}
        finished: dict[int, subprocess.CompletedProcess[bytes]] = {}

        async def worker(n: int) -> None:
            command = [
                *CLI,
                "run",
                str(configs[n]),
                "--run-dir",
                str(tmp_path / "together" / f"run-{n}"),
            ]
            finished[n] = await anyio.run_process(command, env=env, check=False)

        with anyio.fail_after(600):
            async with anyio.create_task_group() as group:
                for n in numbers:
                    group.start_soon(worker, n)
    for n in numbers:
        assert finished[n].returncode == 0, finished[n].stderr.decode()
    alone = [outputs(tmp_path / "alone" / f"run-{n}") for n in numbers]
    together = [outputs(tmp_path / "together" / f"run-{n}") for n in numbers]
    assert together == alone
    # The runs differ from one another, so a mix-up between them could not pass unseen.
    assert len({json.dumps(result, sort_keys=True) for result in alone}) == len(alone)
    assert {result["metrics"]["rules_accepted"] for result in alone} == {0, 1}


async def test_on_langgraph_server_the_graph_keeps_its_cache_and_ledger_in_the_database(
    postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As LangGraph Server runs it: the server's own PostgreSQL checkpointer, no caller context,
    two threads at once; the graph opens its resources, with the storage the config names."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    from concept_distill.graph import build_graph
    from concept_distill.graph.scope import owned_runs

    url = postgres_server.create_database()
    monkeypatch.setenv(URL_ENV, url)
    async with (
        FakeOpenAIServer(reply=student_http_reply) as student,
        FakeOpenAIServer(reply=teacher_reply) as teacher,
        AsyncPostgresSaver.from_conn_string(url) as saver,
    ):
        await saver.setup()
        config = load_config(config_file(tmp_path, student.base_url, teacher.base_url))
        graph = build_graph(config, checkpointer=saver)
        outputs: dict[str, dict[str, Any]] = {}

        async def invoke(thread: str) -> None:
            outputs[thread] = await graph.ainvoke({}, {"configurable": {"thread_id": thread}})

        async with anyio.create_task_group() as group:
            for thread in ("a", "b"):
                group.start_soon(invoke, thread)
        paid = student.request_count + teacher.request_count
        assert owned_runs() == []
    run_dirs = [Path(outputs[thread]["run_dir"]) for thread in ("a", "b")]
    assert run_dirs[0] != run_dirs[1]
    assert outputs["a"]["optimized_prompt"] == outputs["b"]["optimized_prompt"]
    assert HELPFUL in outputs["a"]["optimized_prompt"]
    names = {path.name for path in files_under(*run_dirs)}
    assert "metrics.json" in names and not names & {"calls.jsonl", "checkpoints.sqlite"}
    assert not (tmp_path / "runs" / "cache.sqlite").exists()
    # Each run's ledger is in the database under its directory's name; between them they
    # recorded every request the servers answered (two identical runs at once may both pay for
    # a request the other had not stored yet, never more).
    ledgers = [ledger_of(url, run_dir.name) for run_dir in run_dirs]
    recorded_paid = [
        sum(r["kind"] == "reply" and not r["cached"] for r in ledger) for ledger in ledgers
    ]
    assert all(recorded_paid) and sum(recorded_paid) == paid
