"""The soak in `make test`: a minute of concurrent distillations against faulting servers.

`bench/soak.py` (run for ten minutes with 20 runs at once by `make bench`) here runs for 60 s
with 6 at once: every run started must finish, with no lost or duplicated work. Its checks are
first shown able to fail, on outcomes doctored by hand.
"""

from __future__ import annotations

import dataclasses

import pytest
from support.bench import load_bench

soak = load_bench("soak")

REFERENCE = soak.Outcome(
    prompt="base\n\nrule",
    rules='{"id": "r1"}\n',
    test={"test_accuracy_final": 0.5},
    results={"test.jsonl": ['{"example_id": "1"}']},
    files=["metrics.json", "report.html", "results/test.jsonl"],
    calls={"student": 90, "teacher": 3},
    failed_calls=0,
    retries=0,
    logged_retries=0,
)


def test_a_run_that_matches_its_reference_with_every_fault_retried_has_no_problem() -> None:
    faulty = dataclasses.replace(REFERENCE, retries=20, logged_retries=20)
    assert soak.problems(faulty, REFERENCE, requests=93 + 20, faults=20) == []


@pytest.mark.parametrize(
    ("change", "requests", "faults", "found"),
    [
        ({"prompt": "base"}, 93, 0, "prompt differs"),
        ({"rules": ""}, 93, 0, "rules differs"),
        ({"test": {"test_accuracy_final": 0.4}}, 93, 0, "test differs"),
        ({"results": {"test.jsonl": []}}, 93, 0, "results differs"),
        ({"calls": {"student": 91, "teacher": 3}}, 94, 0, "paid calls"),
        ({"failed_calls": 1}, 93, 0, "1 failed calls"),
        ({}, 94, 0, "94 requests at the servers for 93 calls + 0 retries"),
        ({"retries": 1, "logged_retries": 1}, 94, 2, "2 faults injected but 1 retries"),
        ({"retries": 1}, 94, 1, "1 retries but 0 in run.log"),
        ({"files": ["metrics.json", "results/test.jsonl"]}, 93, 0, "['report.html']"),
    ],
)
def test_each_kind_of_lost_or_duplicated_work_is_found(
    change: dict[str, object], requests: int, faults: int, found: str
) -> None:
    outcome = dataclasses.replace(REFERENCE, **change)  # type: ignore[arg-type]
    problems = soak.problems(outcome, REFERENCE, requests, faults)
    assert len(problems) == 1 and found in problems[0]


@pytest.mark.anyio
async def test_a_minute_of_six_concurrent_faulty_runs_loses_and_duplicates_nothing() -> None:
    figures = await soak.soak(60.0, 6)

    assert figures.failed == [] and figures.problems == []
    assert figures.finished == figures.started >= 12
    assert figures.faults > 100 and figures.retries >= figures.faults
    assert figures.requests == figures.calls + figures.retries
