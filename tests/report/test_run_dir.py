"""The run directory's atomic writes, and re-rendering a report from the files a run wrote."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import pytest

from concept_distill.agents.student_prompt import StudentPrompt
from concept_distill.errors import ConfigError
from concept_distill.models import Spend, SpendReport
from concept_distill.records import IterationRecord, Rule, RunMetrics
from concept_distill.report.rerender import rerender_report
from concept_distill.report.run_dir import RunDirectory
from concept_distill.report.writer import write_run_outputs

pytestmark = pytest.mark.anyio


def names(directory: Path) -> list[str]:
    """Every entry, hidden temporary files included."""
    return sorted(os.listdir(directory))


# --- atomic writes ------------------------------------------------------------------------------


async def test_a_write_leaves_the_file_and_nothing_else(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path)
    target = await run.write_text("notes.txt", "hello\n")
    assert target == tmp_path / "notes.txt"
    assert target.read_text() == "hello\n"
    assert names(tmp_path) == ["notes.txt"]


async def test_an_existing_file_is_replaced_whole(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path)
    await run.write_text("notes.txt", "a long first version\n" * 100)
    await run.write_text("notes.txt", "short\n")
    assert (tmp_path / "notes.txt").read_text() == "short\n"  # no tail of the old content
    assert names(tmp_path) == ["notes.txt"]


async def test_a_failed_rename_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = RunDirectory(tmp_path)
    await run.write_text("metrics.json", "old\n")

    def refuse(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        await run.write_text("metrics.json", "new\n")
    assert (tmp_path / "metrics.json").read_text() == "old\n"
    assert names(tmp_path) == ["metrics.json"]


async def test_a_write_that_fails_before_the_rename_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = RunDirectory(tmp_path)
    await run.write_text("rules.jsonl", "old\n")

    def no_disk(descriptor: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", no_disk)
    with pytest.raises(OSError, match="Input/output error"):
        await run.write_text("rules.jsonl", "new\n")
    assert (tmp_path / "rules.jsonl").read_text() == "old\n"
    assert names(tmp_path) == ["rules.jsonl"]


async def test_concurrent_writers_leave_one_whole_version(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path)
    versions = [f"{n}\n" * 20_000 for n in range(8)]
    async with anyio.create_task_group() as group:
        for text in versions:
            group.start_soon(run.write_text, "history.json", text)
    assert (tmp_path / "history.json").read_text() in versions
    assert names(tmp_path) == ["history.json"]


async def test_parent_directories_are_created(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path / "run")
    await run.write_jsonl("results/test.jsonl", [{"example_id": "t1"}])
    assert names(tmp_path / "run" / "results") == ["test.jsonl"]


async def test_json_and_json_lines_formats(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path)
    rule = Rule(id="r1-0-0", text="Carry the tens — always.", iteration=1)
    await run.write_json("one.json", {"accuracy": 0.5, "rule": "é"})
    await run.write_jsonl("rules.jsonl", [rule, {"id": "x"}])
    assert (tmp_path / "one.json").read_text(encoding="utf-8") == (
        '{\n  "accuracy": 0.5,\n  "rule": "é"\n}\n'
    )
    lines = (tmp_path / "rules.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert Rule.model_validate_json(lines[0]) == rule  # a record is written as its JSON form
    assert "—" in lines[0]  # not escaped to \u2014
    assert json.loads(lines[1]) == {"id": "x"}


def test_create_picks_a_fresh_name_when_the_first_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen = SimpleNamespace(strftime=lambda _format: "20261127-164500")
    monkeypatch.setattr("concept_distill.report.run_dir.time", frozen)
    first = RunDirectory.create(tmp_path / "runs", "multiarith")
    second = RunDirectory.create(tmp_path / "runs", "multiarith")
    assert first.path == tmp_path / "runs" / "20261127-164500-multiarith"
    assert second.path == tmp_path / "runs" / "20261127-164500-multiarith-1"
    assert first.path.is_dir() and second.path.is_dir()


# --- re-rendering the report --------------------------------------------------------------------

HELPFUL = "Always carry the tens."
ESCAPED = "Use <b>bold</b> & care."
SPEND = SpendReport(
    roles={
        "student": Spend(role="student", calls=42, cached_calls=8, prompt_tokens=4200,
                         completion_tokens=900, wall_seconds=12.25),
        "teacher": Spend(role="teacher", calls=2, prompt_tokens=3100, completion_tokens=250),
    }
)  # fmt: skip


def write_finished_run(run_dir: Path, **metrics: Any) -> None:
    """The five files `rerender_report` reads, written by hand."""
    run_dir.mkdir(parents=True, exist_ok=True)
    prompt = f"You are a helpful assistant.\n\n{HELPFUL}"
    document = {
        "format": "concept-distill/optimized-prompt@1",
        "prompt": prompt,
        "base_prompt": "You are a helpful assistant.",
        "rules": [{"id": "r1-0-0", "text": HELPFUL}],
    }
    rules = [
        {"id": "r1-0-0", "text": HELPFUL, "iteration": 1, "status": "accepted",
         "validation_delta": 0.125, "p_value": 0.015625, "fixed": ["v3", "v7"]},
        {"id": "r1-0-1", "text": ESCAPED, "iteration": 1, "status": "rejected",
         "validation_delta": -0.05, "broken": ["v2"]},
    ]  # fmt: skip
    values = {
        "test_accuracy_base": 0.4,
        "test_accuracy_final": 0.75,
        "test_difference": 0.35,
        "test_difference_ci": [0.1, 0.6],
        "test_examples": 20,
        "test_p_two_sided": 0.03125,
        "stop_reason": "reached max_iterations (2)",
        **metrics,
    }
    history = [
        {"iteration": 0, "validation_accuracy": 0.5, "rules": 0},
        {"iteration": 1, "validation_accuracy": 0.625, "rules": 1, "accepted_this_round": 1},
    ]
    (run_dir / "optimized_prompt.json").write_text(json.dumps(document))
    (run_dir / "rules.jsonl").write_text("".join(json.dumps(rule) + "\n" for rule in rules))
    (run_dir / "metrics.json").write_text(json.dumps(values))
    (run_dir / "history.json").write_text(json.dumps(history))
    (run_dir / "spend.json").write_text(SPEND.model_dump_json())


async def test_the_report_is_rebuilt_from_the_run_files(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    write_finished_run(run_dir)
    (run_dir / "report.html").write_text("stale report")

    path = await rerender_report(run_dir)

    assert path == run_dir / "report.html"
    html = path.read_text(encoding="utf-8")
    assert "stale report" not in html
    # Test accuracies 0.4 and 0.75, their difference 0.35, its interval (0.1, 0.6), p, the stop.
    for shown in ("40.0%", "75.0%", "+35.0 points", "+10.0 to +60.0 points", "p = 0.0312"):
        assert shown in html, shown
    assert "Test examples: 20." in html and "reached max_iterations (2)" in html
    # The rule ledger: text (escaped), status, validation delta in points, p, fixed, broken.
    assert f"<td>{HELPFUL}</td>" in html
    assert "<td>Use &lt;b&gt;bold&lt;/b&gt; &amp; care.</td>" in html and ESCAPED not in html
    assert "<td>+12.5</td><td>0.0156</td><td>v3, v7</td>" in html
    assert "<td>-5.0</td><td></td><td></td><td>v2</td>" in html
    assert f"<pre>You are a helpful assistant.\n\n{HELPFUL}</pre>" in html
    # Spend per role, and the accuracy plot (there is a history).
    assert "<td>student</td><td>42</td><td>8</td><td>4200</td><td>900</td><td>12.2</td>" in html
    assert '<img alt="validation accuracy per iteration" src="data:image/png;base64,' in html


async def test_a_re_render_reads_the_files_as_they_are_now(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    write_finished_run(run_dir)
    await rerender_report(run_dir)
    write_finished_run(run_dir, test_accuracy_final=0.8, test_difference=0.4)
    html = (await rerender_report(run_dir)).read_text(encoding="utf-8")
    assert "80.0%" in html and "+40.0 points" in html
    assert "75.0%" not in html


async def test_a_re_render_is_the_report_the_run_wrote(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path / "run")
    accepted = Rule(id="r1-0-0", text=HELPFUL, iteration=1, status="accepted", accepted_order=0)
    rejected = Rule(id="r1-0-1", text=ESCAPED, iteration=1, status="rejected")
    written = await write_run_outputs(
        run,
        prompt=StudentPrompt(base="Base.", rules=(HELPFUL,)),
        accepted=[accepted],
        rules=[accepted, rejected],
        metrics=RunMetrics(test_accuracy_base=0.5, test_accuracy_final=0.625,
                           test_difference=0.125, test_difference_ci=(0.0, 0.25),
                           test_p_two_sided=0.25, test_examples=8, stop_reason="done"),
        history=[IterationRecord(iteration=0, validation_accuracy=0.5, rules=0),
                 IterationRecord(iteration=1, validation_accuracy=0.75, rules=1)],
        spend=SPEND,
    )  # fmt: skip
    original = written.read_bytes()
    written.unlink()

    again = await rerender_report(run.path)

    assert again.read_bytes() == original
    assert b"62.5%" in original and HELPFUL.encode() in original


async def test_a_run_without_its_files_is_a_config_error(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    write_finished_run(run_dir)
    (run_dir / "history.json").unlink()
    with pytest.raises(ConfigError, match=r"is not a finished run: .*history\.json is missing"):
        await rerender_report(run_dir)
    assert not (run_dir / "report.html").exists()


async def test_metrics_not_measured_yet_render_as_not_available(tmp_path: Path) -> None:
    # `RunMetrics` fields are None until measured, and metrics.json keeps them as null. The
    # accuracies already render as "n/a"; the difference, its interval and p must not crash.
    run_dir = tmp_path / "run"
    write_finished_run(run_dir)
    (run_dir / "metrics.json").write_text(RunMetrics().model_dump_json())
    html = (await rerender_report(run_dir)).read_text(encoding="utf-8")
    assert "<td>base prompt</td><td>n/a</td>" in html
    assert "<td>optimized prompt</td><td>n/a</td>" in html
