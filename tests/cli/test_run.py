"""`concept-distill run` end to end as a subprocess, with fake OpenAI-compatible servers."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from support.configs import CLI, fake_role, write_config
from support.fakes import HELPFUL, student_http_reply, teacher_http_reply

from concept_distill import load_optimized_prompt
from concept_distill.testing import FakeOpenAIServer

USELESS = "When a problem mentions time, convert every duration to minutes first."


def write_run_config(tmp_path: Path, student_url: str, teacher_url: str) -> Path:
    return write_config(
        tmp_path,
        splits={"seed": 3, "train": 10, "validation": 14, "test": 14},
        models={"student": fake_role(student_url, "s"), "teacher": fake_role(teacher_url, "t")},
        loop={"max_iterations": 2},
        run_dir=str(tmp_path / "runs"),
    )


@pytest.mark.anyio
async def test_run_finishes_reports_and_resumes_without_new_calls(tmp_path: Path) -> None:
    async with (
        FakeOpenAIServer(reply=student_http_reply) as student,
        FakeOpenAIServer(reply=teacher_http_reply(HELPFUL, USELESS)) as teacher,
    ):
        config = write_run_config(tmp_path, student.base_url, teacher.base_url)
        plan = await anyio.run_process([*CLI, "run", str(config), "--dry-run"], check=False)
        assert plan.returncode == 0, plan.stderr.decode()
        assert "calls at most" in plan.stdout.decode() and len(student.requests) == 0
        run_dir = tmp_path / "run"
        done = await anyio.run_process(
            [*CLI, "run", str(config), "--run-dir", str(run_dir)], check=False
        )
        assert done.returncode == 0, done.stderr.decode()
        output = " ".join(done.stdout.decode().split())
        assert "report:" in output and "1 rule(s) accepted" in output
        # Without a terminal, progress is plain lines: one per phase, and evaluation progress.
        lines = done.stdout.decode().splitlines()
        assert "phase: initialize" in lines and "phase: test" in lines
        assert any(line.startswith("progress: initial-") for line in lines), lines
        calls = len(student.requests)
        again = await anyio.run_process([*CLI, "run", "--resume", str(run_dir)], check=False)
        assert again.returncode == 0, again.stderr.decode()
        assert len(student.requests) == calls
        # Both prompt files hold the same prompt: `eval --prompt` with either hits the cache
        # filled by the run's own test evaluation, so no request is made.
        for name in ("optimized_prompt.txt", "optimized_prompt.json"):
            evaluated = await anyio.run_process(
                [*CLI, "eval", str(config), "--prompt", str(run_dir / name),
                 "--run-dir", str(tmp_path / f"eval-{name}")],
                check=False,
            )  # fmt: skip
            assert evaluated.returncode == 0, evaluated.stderr.decode()
            assert len(student.requests) == calls, name
    text, document = (run_dir / "optimized_prompt.txt", run_dir / "optimized_prompt.json")
    prompt = load_optimized_prompt(document).system
    assert HELPFUL in prompt and not prompt.endswith("\n")
    assert text.read_text() == prompt == load_optimized_prompt(text).system
    assert load_optimized_prompt(run_dir).system == prompt
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test_accuracy_final"] == 1.0 > metrics["test_accuracy_base"]
    log = (run_dir / "run.log").read_text()
    assert "run started" in log and "run resumed" in log
    (run_dir / "report.html").unlink()
    rendered = await anyio.run_process([*CLI, "report", str(run_dir)], check=False)
    assert rendered.returncode == 0 and (run_dir / "report.html").exists()


def test_run_without_config_is_exit_2(tmp_path: Path) -> None:
    import subprocess

    done = subprocess.run([*CLI, "run", "--resume", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2 and "not a run directory" in done.stderr
