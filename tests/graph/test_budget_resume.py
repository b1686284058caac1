"""A budget holds across kill -9 and --resume, and spend.json counts every paid call once.

The CLI runs in a subprocess against a fake student server; it is killed (SIGKILL) in the middle
of validation and resumed. Calls are counted where they are paid: at the server.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import anyio
import pytest
from support.configs import CLI, fake_role, write_config
from support.fakes import HELPFUL, student_http_reply, teacher_http_reply

from concept_distill.tasks import build_task
from concept_distill.testing import FakeOpenAIServer, RecordedRequest

pytestmark = pytest.mark.anyio
CONCURRENCY = 2
BUDGET = 60
USELESS = [
    "When a problem mentions time, convert every duration to minutes first.",
    "When several people are named, list what each one has before adding.",
    "When a problem mentions money, write every amount in cents first.",
]


def kill_at(command: list[str], server: FakeOpenAIServer, requests: int) -> None:
    """Start the CLI and kill -9 it once the server has seen `requests` requests."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if len(server.requests) >= requests:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return
        time.sleep(0.005)
    process.kill()
    pytest.fail("the run ended or stalled before the kill point")


def paid_in_ledger(run_dir: Path) -> int:
    lines = (run_dir / "calls.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    return sum(r["kind"] == "reply" and r["role"] == "student" and not r["cached"] for r in records)


def question(request: RecordedRequest) -> str:
    return str(json.loads(request.body)["messages"][-1]["content"])


async def test_student_call_budget_holds_across_kill_and_resume(tmp_path: Path) -> None:
    async with (
        FakeOpenAIServer(reply=student_http_reply, latency_s=0.02) as student,
        FakeOpenAIServer(reply=teacher_http_reply(*USELESS, HELPFUL)) as teacher,
    ):
        config = write_config(
            tmp_path,
            splits={"seed": 11, "train": 10, "validation": 24, "test": 12},
            models={"student": fake_role(student.base_url, "s"),
                    "teacher": fake_role(teacher.base_url, "t")},
            loop={"max_iterations": 3},
            acceptance={"policy": "paired_test"},
            budget={"student_calls": BUDGET},
            concurrency=CONCURRENCY,
        )  # fmt: skip
        run_dir = tmp_path / "run"
        first = [*CLI, "run", str(config), "--run-dir", str(run_dir)]
        # 10 train + 24 validation initialize; the 45th request is inside validation.
        await anyio.to_thread.run_sync(kill_at, first, student, 45)
        await anyio.sleep(0.5)  # a request sent just before the kill may still be arriving
        # What was paid at the kill: the server's count, and the replies the ledger wrote down.
        in_flight = len(student.requests) - paid_in_ledger(run_dir)
        assert 0 <= in_flight <= CONCURRENCY
        resumed = await anyio.run_process([*CLI, "run", "--resume", str(run_dir)], check=False)
        assert resumed.returncode == 0, resumed.stderr.decode()
        requests = list(student.requests)
    spend = json.loads((run_dir / "spend.json").read_text())["roles"]["student"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["stop_reason"].startswith("budget: ")
    # Requests in flight at the kill got no recorded reply: spend.json cannot see them, and the
    # resumed run asked again those it still needed; nothing completed was paid twice.
    assert spend["calls"] == len(requests) - in_flight
    repeated = sum(n - 1 for n in collections.Counter(r.body for r in requests).values())
    assert repeated <= in_flight
    # The loop stopped at the budget: at most the calls in flight when it was reached went past
    # it. The test split is outside the budget (base and final prompt, always run).
    splits = json.loads((run_dir / "splits.json").read_text())
    test_questions = {
        example.question for example in build_task("multiarith").load()
        if example.id in set(splits["test"])
    }  # fmt: skip
    loop_calls = {r.body for r in requests if question(r) not in test_questions}
    assert BUDGET <= len(loop_calls) <= BUDGET + CONCURRENCY
    assert 0 < len(requests) - len(loop_calls) - repeated <= 2 * len(splits["test"])
