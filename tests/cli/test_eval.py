"""`concept-distill eval` as a user runs it, against a fake OpenAI-compatible student server."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest
from support.configs import fake_role, write_config

from concept_distill.tasks import build_task
from concept_distill.testing import FakeOpenAIServer, RecordedRequest


def write_eval_config(tmp_path: Path, base_url: str) -> Path:
    return write_config(
        tmp_path,
        splits={"seed": 1, "train": 4, "validation": 4, "test": 12},
        models={"student": fake_role(base_url, "fake")},
        run_dir=str(tmp_path / "runs"),
    )


@pytest.mark.anyio
async def test_eval_numbers_match_the_per_example_file(tmp_path: Path) -> None:
    gold = {example.question: example.answer for example in build_task("multiarith").load()}

    def reply(request: RecordedRequest) -> str:
        question = json.loads(request.body)["messages"][-1]["content"]
        answer = int(gold[question])
        # Every third question gets a wrong answer, so accuracy is neither 0 nor 1.
        return f"The answer is {answer + (1 if answer % 3 == 0 else 0)}."

    async with FakeOpenAIServer(reply=reply) as server:
        config = write_eval_config(tmp_path, server.base_url)
        run_dir = tmp_path / "out"
        command = [
            sys.executable,
            "-m",
            "concept_distill.cli",
            "eval",
            str(config),
            "--run-dir",
            str(run_dir),
        ]
        done = await anyio.run_process(command, check=False)
        first_requests = len(server.requests)
        again = await anyio.run_process([*command[:-1], str(tmp_path / "out2")], check=False)
    assert done.returncode == 0, done.stderr.decode()
    rows = [
        json.loads(line) for line in (run_dir / "results" / "test.jsonl").read_text().splitlines()
    ]
    summary = json.loads((run_dir / "summary.json").read_text())
    correct = sum(row["judgement"]["outcome"] == "correct" for row in rows)
    assert len(rows) == summary["examples"] == 12
    assert summary["correct"] == correct and 0 < correct < 12
    assert summary["accuracy"] == pytest.approx(correct / 12)
    assert summary["ci_low"] < summary["accuracy"] < summary["ci_high"]
    assert f"{correct}/12 judged correct" in done.stdout.decode()
    # The results path stays on the line it belongs to, however long it is.
    assert f"results: {run_dir / 'results' / 'test.jsonl'}" in done.stdout.decode().splitlines()
    assert first_requests == 12
    splits = json.loads((run_dir / "splits.json").read_text())
    assert sorted(row["example_id"] for row in rows) == sorted(splits["test"])
    assert (run_dir / "config.yaml").exists() and (run_dir / "spend.json").exists()
    # A re-run with the same config is answered from the response cache: no new request.
    assert again.returncode == 0, again.stderr.decode()
    assert len(server.requests) == first_requests
    assert json.loads((tmp_path / "out2" / "summary.json").read_text())["cached_calls"] == 12
    info = await anyio.run_process([*command[:3], "cache", "info", str(config)], check=False)
    assert "12 cached replies" in info.stdout.decode()
    cleared = await anyio.run_process([*command[:3], "cache", "clear", str(config)], check=False)
    assert cleared.returncode == 0 and not (tmp_path / "runs" / "cache.sqlite").exists()


def test_eval_bad_config_is_one_line_exit_2(tmp_path: Path) -> None:
    import subprocess

    path = tmp_path / "c.yaml"
    path.write_text("task: {name: nosuch}\nmodels: {student: {base_url: x, model: y}}\n")
    done = subprocess.run(
        [sys.executable, "-m", "concept_distill.cli", "eval", str(path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "task.name" in done.stderr
