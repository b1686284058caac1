"""One process per run directory: a second one is refused, a crashed one does not block a resume.

The lock is an OS `flock` on `<run_dir>/.lock`, so the kernel drops it when its holder dies.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from subprocess import CompletedProcess

import anyio
import pytest
from anyio.abc import Process
from support.configs import CLI, fake_role, write_config
from support.fakes import student_http_reply, teacher_http_reply

from concept_distill.errors import RunDirectoryInUse
from concept_distill.graph.run_lock import RunLock
from concept_distill.testing import FakeOpenAIServer, RecordedRequest

OUTPUTS = ("metrics.json", "optimized_prompt.json", "rules.jsonl", "spend.json", "report.html")


def small_config(tmp_path: Path, student: str, teacher: str) -> Path:
    return write_config(
        tmp_path,
        splits={"seed": 3, "train": 6, "validation": 8, "test": 6},
        models={"student": fake_role(student, "s"), "teacher": fake_role(teacher, "t")},
        loop={"max_iterations": 1},
        concurrency=2,
    )


class Counting:
    """A student reply function that sets `reached` at its n-th request, and may hold replies."""

    def __init__(self, n: int) -> None:
        self.n, self.seen = n, 0
        self.reached = anyio.Event()
        self.gate: anyio.Event | None = None

    async def __call__(self, request: RecordedRequest) -> str:
        self.seen += 1
        if self.seen >= self.n:
            self.reached.set()
        if self.gate is not None:
            await self.gate.wait()
        return student_http_reply(request)


async def until(event: anyio.Event, process: Process) -> None:
    """Wait for `event`; fail if the process ends first, or after two minutes."""
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            await process.wait()
            group.cancel_scope.cancel()

        group.start_soon(watch)
        with anyio.move_on_after(120):
            await event.wait()
        group.cancel_scope.cancel()
    if not event.is_set():
        process.kill()
        pytest.fail("the run ended or stalled before the request it was waited for")


async def stderr_of(process: Process) -> str:
    assert process.stderr is not None
    return b"".join([chunk async for chunk in process.stderr]).decode()


def sessions(run_dir: Path) -> int:
    lines = (run_dir / "calls.jsonl").read_text().splitlines()
    return sum(json.loads(line)["kind"] == "session" for line in lines)


def test_a_second_lock_on_one_directory_is_refused_until_the_first_is_released(
    tmp_path: Path,
) -> None:
    first, second = RunLock(tmp_path), RunLock(tmp_path)
    first.acquire()
    with pytest.raises(RunDirectoryInUse) as refused:
        second.acquire()
    assert refused.value.path == tmp_path
    assert refused.value.pid == os.getpid()
    first.release()
    second.acquire()  # released: free again
    second.release()


def test_taking_the_lock_removes_what_a_killed_writer_left_half_written(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    left = [tmp_path / ".metrics.json.x1y2.tmp", tmp_path / "results" / ".initial.jsonl.ab.tmp"]
    kept = [tmp_path / "metrics.json", tmp_path / "results" / "initial.jsonl", tmp_path / "a.tmp"]
    for path in [*left, *kept]:
        path.write_text("{")
    lock = RunLock(tmp_path)
    lock.acquire()
    lock.release()
    assert [path.exists() for path in left] == [False, False]
    assert [path.exists() for path in kept] == [True, True, True]


def test_a_lock_held_by_a_killed_process_is_free(tmp_path: Path) -> None:
    """kill -9 leaves the lock file but not the lock: the kernel closed the descriptor."""
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from concept_distill.graph.run_lock import RunLock\n"
        "RunLock(Path(sys.argv[1])).acquire()\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(RunDirectoryInUse) as refused:
            RunLock(tmp_path).acquire()
        assert refused.value.pid == holder.pid
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        lock = RunLock(tmp_path)
        lock.acquire()
        lock.release()
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.anyio
async def test_a_second_process_on_a_run_directory_is_refused_and_the_first_finishes(
    tmp_path: Path,
) -> None:
    # The first run's student requests wait at the server until the intruders are done, so the
    # first run is certainly in the middle of its work (and holding the lock) while they try.
    gated = Counting(1)
    gated.gate = anyio.Event()
    async with (
        FakeOpenAIServer(reply=gated) as student,
        FakeOpenAIServer(reply=teacher_http_reply()) as teacher,
    ):
        config = small_config(tmp_path, student.base_url, teacher.base_url)
        run_dir = tmp_path / "run"
        first = await anyio.open_process(
            [*CLI, "run", str(config), "--run-dir", str(run_dir)], stdout=subprocess.DEVNULL
        )
        await until(gated.reached, first)
        intruders: list[CompletedProcess[bytes]] = []

        async def intrude(command: list[str]) -> None:
            intruders.append(await anyio.run_process(command, check=False))

        # Unrefused, an intruder would wait at the gate forever: a time-out fails the test.
        try:
            with anyio.fail_after(120):
                async with anyio.create_task_group() as group:
                    group.start_soon(intrude, [*CLI, "run", str(config), "--run-dir", str(run_dir)])
                    group.start_soon(intrude, [*CLI, "run", "--resume", str(run_dir)])
        except TimeoutError:
            first.kill()
            raise
        still_running = first.returncode is None
        gated.gate.set()
        first_stderr = await stderr_of(first)
        await first.wait()
    assert still_running
    assert first.returncode == 0, first_stderr
    assert len(intruders) == 2
    for intruder in intruders:
        lines = intruder.stderr.decode().strip().splitlines()
        assert intruder.returncode == 2, lines
        assert len(lines) == 1, lines
        assert str(run_dir) in lines[0] and "in use" in lines[0]
    # The first run is whole: every output, one session in the ledger, one start in run.log.
    for name in OUTPUTS:
        assert (run_dir / name).is_file(), name
    assert sessions(run_dir) == 1
    log = (run_dir / "run.log").read_text()
    assert log.count("run started") == 1 and "run resumed" not in log
    assert json.loads((run_dir / "metrics.json").read_text())["test_accuracy_final"] is not None


@pytest.mark.anyio
async def test_resume_after_kill_9_is_not_refused(tmp_path: Path) -> None:
    counting = Counting(4)
    async with (
        FakeOpenAIServer(reply=counting) as student,
        FakeOpenAIServer(reply=teacher_http_reply()) as teacher,
    ):
        config = small_config(tmp_path, student.base_url, teacher.base_url)
        run_dir = tmp_path / "run"
        process = await anyio.open_process(
            [*CLI, "run", str(config), "--run-dir", str(run_dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await until(counting.reached, process)
        os.kill(process.pid, signal.SIGKILL)
        await process.wait()
        assert (run_dir / ".lock").exists()  # the file stays; the lock on it does not
        resumed = await anyio.run_process([*CLI, "run", "--resume", str(run_dir)], check=False)
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert (run_dir / "metrics.json").is_file()
    assert sessions(run_dir) == 2
