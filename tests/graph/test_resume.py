"""A real run killed with kill -9 in the middle of validation resumes to the same result."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from support.configs import fake_role, write_config
from support.fakes import HELPFUL, student_http_reply, teacher_http_reply

from concept_distill.testing import FakeOpenAIServer

USELESS = ["When a problem mentions time, convert every duration to minutes first.",
           "When several people are named, list what each one has before adding."]  # fmt: skip
CLI = [sys.executable, "-m", "concept_distill.cli", "run"]
CONCURRENCY = 2


def write_resume_config(tmp_path: Path, student: str, teacher: str) -> Path:
    return write_config(
        tmp_path,
        splits={"seed": 11, "train": 10, "validation": 24, "test": 12},
        models={"student": fake_role(student, "s"), "teacher": fake_role(teacher, "t")},
        loop={"max_iterations": 2},
        concurrency=CONCURRENCY,
    )


def run_to_end(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr


def kill_during_validation(command: list[str], log: Path, server: FakeOpenAIServer) -> None:
    """kill -9 once the student has answered 12 validation requests past initialization."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    initialized = 10 + 24  # train + validation with the base prompt
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        if '"phase": "validate"' in text and len(server.requests) >= initialized + 12:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return
        if process.poll() is not None:
            break
        time.sleep(0.01)
    process.kill()
    pytest.fail("the run did not reach validation in time")


def outcome(run_dir: Path) -> tuple[str, list[tuple[str, str]], dict[str, float]]:
    prompt = json.loads((run_dir / "optimized_prompt.json").read_text())["prompt"]
    rules = sorted(
        (row["text"], row["status"])
        for row in map(json.loads, (run_dir / "rules.jsonl").read_text().splitlines())
    )
    metrics = json.loads((run_dir / "metrics.json").read_text())
    keys = ("test_accuracy_base", "test_accuracy_final", "validation_accuracy_base")
    return prompt, rules, {key: metrics[key] for key in keys}


@pytest.mark.anyio
async def test_kill_9_during_validation_then_resume(tmp_path: Path) -> None:
    async with (
        FakeOpenAIServer(reply=student_http_reply, latency_s=0.05) as student,
        FakeOpenAIServer(reply=teacher_http_reply(*USELESS, HELPFUL)) as teacher,
    ):
        config = write_resume_config(tmp_path, student.base_url, teacher.base_url)
        interrupted, reference = tmp_path / "interrupted", tmp_path / "reference"
        first = [*CLI, str(config), "--run-dir", str(interrupted),
                 "--set", f"cache_path={interrupted}/cache.sqlite"]  # fmt: skip
        await anyio.to_thread.run_sync(
            kill_during_validation, first, interrupted / "run.log", student
        )
        assert not (interrupted / "metrics.json").exists()
        await anyio.to_thread.run_sync(run_to_end, [*CLI, "--resume", str(interrupted)])
        interrupted_bodies = [request.body for request in student.requests]
        await anyio.to_thread.run_sync(
            run_to_end,
            [*CLI, str(config), "--run-dir", str(reference),
             "--set", f"cache_path={reference}/cache.sqlite"],
        )  # fmt: skip
        reference_calls = len(student.requests) - len(interrupted_bodies)
    assert outcome(interrupted) == outcome(reference)
    assert HELPFUL in outcome(reference)[0]
    # Calls completed before the kill were cached and checkpointed: at most the ones in flight
    # at the moment of the kill were asked twice.
    repeated = sum(n - 1 for n in collections.Counter(interrupted_bodies).values())
    assert repeated <= CONCURRENCY
    assert len(interrupted_bodies) <= reference_calls + CONCURRENCY
    log = (interrupted / "run.log").read_text()
    assert log.count('"phase": "initialize"') == 1, "initialize must not run again on resume"
    assert "run resumed" in log
