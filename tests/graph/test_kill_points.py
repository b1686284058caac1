"""kill -9 of a real CLI run at 10 fixed points, then `--resume`: as if it had never been killed.

A reference run goes uninterrupted first; its student requests, in order, give the phases of a run
(initialization on train, then on validation, the race of the candidates, the re-check of the
train mistakes, the test pass with the base prompt, then with the final one). Each kill point
names a place in one of those phases, or the teacher's request (induction), or the write of
report.html (the run kills itself there through a test-only hook, since writing the report makes
no request). At a request point, the fake server holds that request and every later one, and the
run is killed with them in flight. Then `run --resume`, and each time:

- the same optimized prompt, rules (id, text, status) and test metrics as the reference run;
- no completed call paid twice: together, the killed and the resumed process sent exactly the
  reference run's requests, and repeated at most the ones in flight at the kill (at most
  `concurrency`);
- no half-written file: no temporary file left, every JSON file and JSON line parses.

The runs are real CLI processes forked from a zygote (`support/forked_cli.py`), which imports
the package once instead of once per run, and the cases go several at a time.
"""

from __future__ import annotations

import collections
import json
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from support.configs import fake_role, write_config
from support.fakes import HELPFUL, student_http_reply, teacher_http_reply
from support.forked_cli import ForkedCLI, Run, forked_cli

from concept_distill.report.kill_hook import KILL_BEFORE
from concept_distill.testing import FakeOpenAIServer, RecordedRequest

pytestmark = pytest.mark.anyio
CONCURRENCY = 2
USELESS = (
    "When a problem mentions time, convert every duration to minutes first.",
    "When several people are named, list what each one has before adding.",
)
RULES = (*USELESS, HELPFUL)
PHASES = {
    ("train", False): "initial-train",
    ("validation", False): "initial-validation",
    ("validation", True): "race",
    ("train", True): "recheck",
    ("test", False): "test-base",
    ("test", True): "test-final",
}
CASES_AT_ONCE = 5  # the runs mostly wait on fsync and sockets; the machine has 2 shared cores


@dataclass(frozen=True)
class KillPoint:
    """Where to kill: in a phase of the student's requests, at the teacher, or by the hook."""

    name: str
    phase: str | None = None
    """A phase of the reference run's student requests (see PHASES)."""
    at: float = 0.5
    """Where in that phase, as a share of its requests."""
    teacher_request: int | None = None
    """Kill at this request of the teacher instead."""
    before_writing: str | None = None
    """Kill (from inside, by the hook) just before writing this run-directory file instead."""


POINTS = (
    KillPoint("initialize on train", phase="initial-train", at=0.4),
    KillPoint("initialize on validation", phase="initial-validation", at=0.5),
    KillPoint("induce: the teacher's request", teacher_request=1),
    KillPoint("validate: early in the race", phase="race", at=0.1),
    KillPoint("validate: middle of the race", phase="race", at=0.5),
    KillPoint("validate: late in the race", phase="race", at=0.9),
    KillPoint("update: the re-check", phase="recheck", at=0.5),
    KillPoint("test pass: base prompt", phase="test-base", at=0.5),
    KillPoint("test pass: final prompt", phase="test-final", at=0.5),
    KillPoint("report: before report.html", before_writing="report.html"),
)


class Tripwire:
    """Replies like `reply` until its n-th request; from that one on, holds every request."""

    def __init__(self, reply: Callable[[RecordedRequest], str], n: int | None = None) -> None:
        self.reply, self.n, self.seen = reply, n, 0
        self.tripped = anyio.Event()

    async def __call__(self, request: RecordedRequest) -> str:
        self.seen += 1
        if self.n is not None and self.seen >= self.n:
            self.tripped.set()
            await anyio.sleep_forever()  # cancelled when the killed client's connection drops
        return self.reply(request)

    def disarm(self) -> None:
        self.n = None


@dataclass
class Servers:
    student: FakeOpenAIServer
    teacher: FakeOpenAIServer
    student_wire: Tripwire
    teacher_wire: Tripwire

    def bodies(self) -> list[str]:
        return [r.body for r in (*self.student.requests, *self.teacher.requests)]


def config_for(directory: Path, servers: Servers, run_dir: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return write_config(
        directory,
        splits={"seed": 11, "train": 8, "validation": 16, "test": 8},
        models={"student": fake_role(servers.student.base_url, "s"),
                "teacher": fake_role(servers.teacher.base_url, "t")},
        loop={"max_iterations": 2},
        concurrency=CONCURRENCY,
        cache_path=str(run_dir / "cache.sqlite"),
    )  # fmt: skip


def outcome(run_dir: Path) -> dict[str, object]:
    """What must not depend on where the run was killed."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    rules = [json.loads(line) for line in (run_dir / "rules.jsonl").read_text().splitlines()]
    keys = ("train_accuracy_base", "validation_accuracy_base", "test_accuracy_base",
            "test_accuracy_final", "test_difference", "test_fixed", "test_broken",
            "test_examples", "rules_accepted", "iterations", "stop_reason")  # fmt: skip
    return {
        "prompt": json.loads((run_dir / "optimized_prompt.json").read_text())["prompt"],
        "rules": sorted((rule["id"], rule["text"], rule["status"]) for rule in rules),
        **{key: metrics[key] for key in keys},
    }


def half_written(run_dir: Path) -> list[str]:
    """Temporary files left, and JSON files or JSON lines that do not parse."""
    problems = [str(path) for path in run_dir.rglob("*.tmp")]
    for path in [*run_dir.rglob("*.json"), *run_dir.rglob("*.jsonl")]:
        text = path.read_text()
        documents = text.splitlines() if path.suffix == ".jsonl" else [text]
        for document in documents:
            try:
                json.loads(document)
            except ValueError:
                problems.append(f"{path}: {document[:80]!r}")
    return problems


def phase_spans(run_dir: Path, requests: list[RecordedRequest]) -> dict[str, tuple[int, int]]:
    """Each phase's first request number (from 1) and its number of requests, in the reference."""
    from concept_distill.tasks import build_task

    splits = json.loads((run_dir / "splits.json").read_text())
    questions = {example.id: example.question for example in build_task("multiarith").load()}
    split_of = {questions[i]: split for split, ids in splits.items() for i in ids}
    labels = []
    for request in requests:
        messages = json.loads(request.body)["messages"]
        text = "\n".join(str(message["content"]) for message in messages)
        (split,) = {split for question, split in split_of.items() if question in text}
        labels.append(PHASES[split, any(rule in text for rule in RULES)])
    spans: dict[str, tuple[int, int]] = {}
    for number, label in enumerate(labels, start=1):
        first, count = spans.get(label, (number, 0))
        assert first + count == number, f"phase {label} is not contiguous: {labels}"
        spans[label] = (first, count + 1)
    return spans


def request_number(point: KillPoint, spans: dict[str, tuple[int, int]]) -> int:
    assert point.phase is not None
    first, count = spans[point.phase]
    return first + min(count - 1, int(point.at * count))


async def stop_at_tripwire(run: Run, wire: Tripwire) -> None:
    """kill -9 the run once the wire trips; fail if the run ends first."""
    async with anyio.create_task_group() as group:

        async def ended() -> None:
            await run.ended.wait()
            group.cancel_scope.cancel()

        group.start_soon(ended)
        with anyio.move_on_after(120):
            await wire.tripped.wait()
        group.cancel_scope.cancel()
    if not wire.tripped.is_set():
        if not run.ended.is_set():
            os.kill(run.pid, signal.SIGKILL)
        pytest.fail(f"the run ended or stalled before request {wire.n} (exit {run.exit_code})")
    os.kill(run.pid, signal.SIGKILL)


@dataclass
class Reference:
    outcome: dict[str, object]
    bodies: list[str]
    spans: dict[str, tuple[int, int]]


async def reference_run(cli: ForkedCLI, directory: Path) -> Reference:
    async with servers_for() as servers:
        run_dir = directory / "run"
        config = config_for(directory, servers, run_dir)
        argv = ["run", str(config), "--run-dir", str(run_dir)]
        code = await cli.run(argv, directory / "output.txt")
        assert code == 0, (directory / "output.txt").read_text()
        spans = phase_spans(run_dir, servers.student.requests)
        return Reference(outcome(run_dir), servers.bodies(), spans)


@asynccontextmanager
async def servers_for(
    student_at: int | None = None, teacher_at: int | None = None
) -> AsyncIterator[Servers]:
    """A student and a teacher server for one run, each behind a tripwire."""
    student_wire = Tripwire(student_http_reply, student_at)
    teacher_wire = Tripwire(teacher_http_reply(*RULES), teacher_at)
    async with (
        FakeOpenAIServer(reply=student_wire) as student,
        FakeOpenAIServer(reply=teacher_wire) as teacher,
    ):
        yield Servers(student, teacher, student_wire, teacher_wire)


async def kill_and_resume(
    cli: ForkedCLI, point: KillPoint, reference: Reference, directory: Path
) -> None:
    student_at = None if point.phase is None else request_number(point, reference.spans)
    async with servers_for(student_at, point.teacher_request) as servers:
        run_dir = directory / "run"
        config = config_for(directory, servers, run_dir)
        env = {KILL_BEFORE: point.before_writing} if point.before_writing else {}
        run = await cli.start(["run", str(config), "--run-dir", str(run_dir)],
                              directory / "killed.txt", env)  # fmt: skip
        wire = servers.teacher_wire if point.teacher_request else servers.student_wire
        if point.before_writing is None:
            await stop_at_tripwire(run, wire)
        killed = await run.wait()
        assert killed == -signal.SIGKILL, (directory / "killed.txt").read_text()
        if point.before_writing:
            assert (run_dir / "metrics.json").exists(), "killed before the report was written"
            assert not (run_dir / point.before_writing).exists()
        else:
            assert not (run_dir / "metrics.json").exists(), "killed after the report was written"
        # Written files are whole at any moment (a temporary may be left: the resume removes it).
        assert [p for p in half_written(run_dir) if not p.endswith(".tmp")] == []
        servers.student_wire.disarm()
        servers.teacher_wire.disarm()
        resumed = await cli.run(["run", "--resume", str(run_dir)], directory / "resumed.txt")
        assert resumed == 0, (directory / "resumed.txt").read_text()
        bodies = servers.bodies()
    assert outcome(run_dir) == reference.outcome
    # Completed calls were cached and checkpointed: the two processes together asked exactly
    # what the reference run asked, and only calls in flight at the kill were asked twice.
    assert set(bodies) == set(reference.bodies)
    repeated = sum(n - 1 for n in collections.Counter(bodies).values())
    assert repeated <= CONCURRENCY
    assert half_written(run_dir) == []
    # Resumed from the last checkpoint, not started again (the cache alone would hide that).
    log = (run_dir / "run.log").read_text()
    assert "run resumed" in log
    assert log.count('"phase": "prepare"') == 1
    if point.phase not in ("initial-train", "initial-validation"):
        assert log.count('"phase": "initialize"') == 1


async def test_killed_at_ten_points_every_resume_ends_like_the_uninterrupted_run(
    tmp_path: Path,
) -> None:
    failures: dict[str, str] = {}
    resumed: list[str] = []
    limiter = anyio.CapacityLimiter(CASES_AT_ONCE)
    async with forked_cli() as cli:
        reference = await reference_run(cli, tmp_path / "reference")
        assert set(reference.spans) == set(PHASES.values()), reference.spans
        assert HELPFUL in str(reference.outcome["prompt"])

        async def case(number: int, point: KillPoint) -> None:
            async with limiter:
                try:
                    await kill_and_resume(cli, point, reference, tmp_path / f"point-{number}")
                except (AssertionError, pytest.fail.Exception) as error:
                    failures[point.name] = str(error)
                else:
                    resumed.append(point.name)

        with anyio.fail_after(600):
            async with anyio.create_task_group() as group:
                for number, point in enumerate(POINTS):
                    group.start_soon(case, number, point)
    assert not failures, "\n\n".join(f"{name}: {error}" for name, error in failures.items())
    assert sorted(resumed) == sorted(point.name for point in POINTS)
