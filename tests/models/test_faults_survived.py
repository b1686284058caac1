"""Faults survived: with 20% of requests faulting, a full `run` ends exactly as a fault-free one.

Both endpoints sit behind the fault injector (429 with and without Retry-After, 500/502/503,
connection resets, read time-outs, truncated and non-JSON bodies, empty choices); the clients
retry more often than one request may fault in a row, so every call gets its reply and the
optimized prompt, the rules and the test metrics must equal those of a run without faults, while
run.log records every retry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from support.configs import write_config
from support.fakes import HELPFUL, USELESS, student_http_reply, teacher_http_reply

from concept_distill.cli import main
from concept_distill.testing import (
    Action,
    EmptyChoices,
    FakeOpenAIServer,
    FaultInjector,
    ReplyFunction,
    Reset,
)


@pytest.fixture
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal() as running:
        yield running


def _distill(
    portal: BlockingPortal, tmp_path: Path, name: str, rate: float
) -> tuple[dict[str, Any], list[FaultInjector]]:
    """One CLI run against fake student and teacher endpoints faulting `rate` of requests."""
    replies: list[ReplyFunction] = [student_http_reply, teacher_http_reply(HELPFUL, USELESS)]
    injectors = [FaultInjector(reply, rate=rate, seed=i) for i, reply in enumerate(replies)]
    # A scripted fault first, so that each role (the teacher makes only a few calls) faults.
    first: list[list[Action]] = [[EmptyChoices()], [Reset()]] if rate else [[], []]
    servers = [
        FakeOpenAIServer(script, reply=injector)
        for script, injector in zip(first, injectors, strict=True)
    ]
    for server in servers:
        portal.call(server.start)
    role = {"max_retries": 3, "retry_backoff_s": 0.0, "timeout_s": 1.0}
    config = write_config(
        tmp_path,
        name=f"{name}.yaml",
        splits={"seed": 3, "train": 10, "validation": 14, "test": 14},
        models={
            "student": {"base_url": servers[0].base_url, "model": "s", **role},
            "teacher": {"base_url": servers[1].base_url, "model": "t", **role},
        },
        loop={"max_iterations": 2},
        run_dir=str(tmp_path / "runs"),
        cache_path=str(tmp_path / f"{name}-cache.sqlite"),
    )
    run_dir = tmp_path / name
    try:
        code = main(["run", str(config), "--run-dir", str(run_dir)])
    finally:
        for server in servers:
            portal.call(server.aclose)
    assert code == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    outcome = {
        "prompt": json.loads((run_dir / "optimized_prompt.json").read_text())["prompt"],
        "rules": (run_dir / "rules.jsonl").read_text(),
        "test": {key: value for key, value in metrics.items() if key.startswith("test_")},
        "spend": json.loads((run_dir / "spend.json").read_text()),
        "requests": [server.request_count for server in servers],
        "log": (run_dir / "run.log").read_text(),
    }
    return outcome, injectors


def test_a_run_with_20_percent_faults_ends_exactly_as_a_fault_free_run(
    portal: BlockingPortal, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean, _ = _distill(portal, tmp_path, "clean", rate=0.0)
    faulty, injectors = _distill(portal, tmp_path, "faulty", rate=0.2)

    assert faulty["prompt"] == clean["prompt"] and HELPFUL in clean["prompt"]
    assert faulty["rules"] == clean["rules"]
    assert faulty["test"] == clean["test"] and clean["test"]
    faults = [1 + sum(injector.injected.values()) for injector in injectors]
    assert faults[0] > 10
    # Every fault cost one more request, and run.log has one retry line for each.
    assert faulty["requests"] == [c + f for c, f in zip(clean["requests"], faults, strict=True)]
    for role, count in zip(("student", "teacher"), faults, strict=True):
        assert faulty["log"].count(f"INFO concept_distill.models: {role} at ") == count
    assert "concept_distill.models" not in clean["log"]
    roles = faulty["spend"]["roles"]
    assert all(role["failed_calls"] == 0 for role in roles.values())
    assert roles["student"]["calls"] == clean["spend"]["roles"]["student"]["calls"]
