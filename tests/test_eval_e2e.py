"""`concept-distill eval` end to end with a real local model (SmolLM2-135M) and the real sandbox.

Two small slices: HumanEval (6 problems) with the student given as `{local: smollm2-135m}`, so
the CLI starts and stops the embedded server itself, and MultiArith (10 problems) against a
server this module starts, whose `/metrics` counters show that a re-run makes no request.
What is checked is consistency, not skill: the printed numbers, summary.json and the
per-example results file must tell the same story, and a re-run must come from the cache.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import start_blocking_portal
from support.configs import write_config

from concept_distill.local.build import find_server
from concept_distill.local.download import model_path
from concept_distill.local.registry import get_model
from concept_distill.local.server import LlamaServer

pytestmark = pytest.mark.slow

MODEL = "smollm2-135m"
# One llama.cpp thread: on a busy 2-core machine two spinning threads are many times slower.
THREADS = 1
MAX_TOKENS = 256
SUMMARY = re.compile(
    r"accuracy (?P<accuracy>[\d.]+) \(95% CI (?P<low>[\d.]+)-(?P<high>[\d.]+)\), "
    r"(?P<correct>\d+)/(?P<judged>\d+) judged correct, (?P<unjudged>\d+) unjudged"
)
# Wilson 95% intervals (z = 1.959964) for every result these slices can give, to 4 decimals:
# the roots in p of (1 + z^2/n) p^2 - (2k/n + z^2/n) p + (k/n)^2 = 0, worked out apart from the
# package (0/10 = (0, 0.2775), 1/10 = (0.0179, 0.4042), 5/10 = (0.2366, 0.7634) as in published
# tables). Keyed by (correct, judged): every example of these slices is expected to be judged.
WILSON_95 = {
    (0, 6): (0.0, 0.3903), (1, 6): (0.0301, 0.5635), (2, 6): (0.0968, 0.7000),
    (3, 6): (0.1876, 0.8124), (4, 6): (0.3000, 0.9032), (5, 6): (0.4365, 0.9699),
    (6, 6): (0.6097, 1.0),
    (0, 10): (0.0, 0.2775), (1, 10): (0.0179, 0.4042), (2, 10): (0.0567, 0.5098),
    (3, 10): (0.1078, 0.6032), (4, 10): (0.1682, 0.6873), (5, 10): (0.2366, 0.7634),
    (6, 10): (0.3127, 0.8318), (7, 10): (0.3968, 0.8922), (8, 10): (0.4902, 0.9433),
    (9, 10): (0.5958, 0.9821), (10, 10): (0.7225, 1.0),
}  # fmt: skip
SPEND = re.compile(
    r"student: (?P<calls>\d+) calls \(\+(?P<cached>\d+) cached\), "
    r"(?P<prompt>\d+) prompt \+ (?P<completion>\d+) completion tokens"
)


def require_model() -> None:
    """Fail (never skip) when the server binary or the model is missing, as conftest does."""
    path = model_path(get_model(MODEL))
    if find_server() is None or not path.is_file():
        pytest.fail("llama-server or SmolLM2 missing; run `make local-models`", pytrace=False)


@pytest.fixture(scope="module")
def server() -> Iterator[LlamaServer]:
    """A SmolLM2 server of our own, so its counters see only this module's requests."""
    require_model()
    running = LlamaServer(MODEL, parallel=4, ctx_per_slot=2048, threads=THREADS)
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(running):
        yield running


def predicted_tokens(server: LlamaServer) -> int:
    """llama-server's count of every token it has generated (it grows with every request)."""
    metrics = httpx.get(f"{server.root_url}/metrics", timeout=30).text
    found = re.search(r"^llamacpp:tokens_predicted_total (\S+)$", metrics, re.MULTILINE)
    assert found, metrics
    return int(float(found.group(1)))


def write_eval_config(tmp_path: Path, task: str, student: dict[str, Any], test: int) -> Path:
    return write_config(
        tmp_path,
        task=task,
        name=f"{task}.yaml",
        splits={"seed": 3, "train": 1, "validation": 1, "test": test, "limit": test + 2},
        models={"student": student},
        local_server={"parallel": 4, "ctx_per_slot": 2048, "threads": THREADS},
        concurrency=4,
        run_dir=str(tmp_path / "runs"),
        cache_path=str(tmp_path / "cache.sqlite"),
    )


def run_eval(config: Path, run_dir: Path) -> dict[str, Any]:
    """Run the CLI; return its printed figures, summary.json, the results and the split ids."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "concept_distill.cli",
            "eval",
            str(config),
            "--run-dir",
            str(run_dir),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "COLUMNS": "250"},
    )
    assert done.returncode == 0, done.stderr
    printed = " ".join(done.stdout.split())
    figures, spend = SUMMARY.search(printed), SPEND.search(printed)
    assert figures and spend, done.stdout
    # Without a terminal, progress is plain lines on stderr, the last one for the last example.
    summary = json.loads((run_dir / "summary.json").read_text())
    lines = [line for line in done.stderr.splitlines() if line.startswith("progress: eval ")]
    assert lines and lines[-1].startswith(
        f"progress: eval {summary['task']}/test: {summary['examples']}/{summary['examples']}"
    ), done.stderr
    return {
        "printed": {**figures.groupdict(), **spend.groupdict()},
        "summary": json.loads((run_dir / "summary.json").read_text()),
        "rows": [json.loads(line) for line in (run_dir / "results" / "test.jsonl").open()],
        "test_ids": json.loads((run_dir / "splits.json").read_text())["test"],
    }


def assert_consistent(run: dict[str, Any], size: int) -> None:
    """Printed line, summary.json and the per-example file agree with one another."""
    printed, summary, rows = run["printed"], run["summary"], run["rows"]
    outcomes = [row["judgement"]["outcome"] for row in rows]
    correct, unjudged = outcomes.count("correct"), outcomes.count("unjudged")
    judged = size - unjudged
    assert len(rows) == summary["examples"] == size
    assert sorted(row["example_id"] for row in rows) == sorted(run["test_ids"])
    assert (summary["correct"], summary["judged"], summary["unjudged"]) == (
        correct,
        judged,
        unjudged,
    )
    assert (int(printed["correct"]), int(printed["judged"]), int(printed["unjudged"])) == (
        correct,
        judged,
        unjudged,
    )
    assert summary["accuracy"] == pytest.approx(correct / judged if judged else 0.0)
    assert float(printed["accuracy"]) == pytest.approx(summary["accuracy"], abs=5e-4)
    assert (correct, judged) in WILSON_95, f"no known interval for {correct}/{judged}"
    low, high = WILSON_95[correct, judged]
    assert (summary["ci_low"], summary["ci_high"]) == pytest.approx((low, high), abs=5e-5)
    # The printed line rounds to 3 decimals; the table to 4.
    assert (float(printed["low"]), float(printed["high"])) == pytest.approx((low, high), abs=6e-4)
    tokens = sum(row["attempt"]["completion_tokens"] for row in rows)
    assert summary["completion_tokens"] == int(printed["completion"]) == tokens
    assert summary["prompt_tokens"] == sum(row["attempt"]["prompt_tokens"] for row in rows)
    assert all(row["attempt"]["reply"] or row["attempt"]["error"] for row in rows)
    assert int(printed["calls"]) + int(printed["cached"]) == size


def assert_replayed(first: dict[str, Any], again: dict[str, Any], size: int) -> None:
    """The re-run made no model call and judged the same replies the same way."""
    assert (again["summary"]["calls"], again["summary"]["cached_calls"]) == (0, size)
    assert (first["summary"]["calls"], first["summary"]["cached_calls"]) == (size, 0)
    assert all(row["attempt"]["cached"] for row in again["rows"])
    replies = {row["example_id"]: row["attempt"]["reply"] for row in first["rows"]}
    assert {row["example_id"]: row["attempt"]["reply"] for row in again["rows"]} == replies
    assert again["summary"]["correct"] == first["summary"]["correct"]


def test_eval_multiarith_with_a_real_server(tmp_path: Path, server: LlamaServer) -> None:
    student = {
        "base_url": server.base_url,
        "model": MODEL,
        "max_tokens": MAX_TOKENS,
        "timeout_s": 600,
        "max_retries": 0,
    }
    config = write_eval_config(tmp_path, "multiarith", student, test=10)
    before = predicted_tokens(server)
    first = run_eval(config, tmp_path / "first")
    generated = predicted_tokens(server) - before
    again = run_eval(config, tmp_path / "again")
    assert_consistent(first, 10)
    assert_consistent(again, 10)
    assert first["summary"]["unjudged"] == 0
    # The server generated exactly the completion tokens the results file accounts for...
    assert generated == first["summary"]["completion_tokens"] > 0
    # ...and nothing at all for the re-run, which the response cache answered.
    assert predicted_tokens(server) - before == generated
    assert_replayed(first, again, 10)
    for row in first["rows"]:
        judgement = row["judgement"]
        assert judgement["outcome"] == "correct" or judgement["reason"], row


def test_eval_humaneval_with_the_embedded_local_student(tmp_path: Path) -> None:
    require_model()
    student = {"local": MODEL, "max_tokens": MAX_TOKENS, "timeout_s": 600}
    config = write_eval_config(tmp_path, "humaneval", student, test=6)
    first = run_eval(config, tmp_path / "first")
    # The CLI starts a new server (on a new port) for the re-run: the cache must still answer.
    again = run_eval(config, tmp_path / "again")
    assert_consistent(first, 6)
    assert_consistent(again, 6)
    assert first["summary"]["unjudged"] == 0
    assert_replayed(first, again, 6)
    for row in first["rows"]:
        judgement = row["judgement"]
        if judgement["outcome"] == "correct":
            assert judgement["verdict"]["passed"] is True
        else:
            assert judgement["reason"], row
