from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.fakes import (
    GENERIC,
    HELPFUL,
    USELESS,
    make_config,
    rule_following_student,
    scripted_teacher,
    verifier,
)

from concept_distill.distillation import distill
from concept_distill.events import Event


@pytest.mark.anyio
async def test_helpful_rule_is_accepted_and_the_run_directory_is_complete(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    student, _ = rule_following_student(config)
    teacher, teacher_model = scripted_teacher()
    events: list[Event] = []
    run_dir = tmp_path / "run"
    result = await distill(
        config, run_dir=run_dir, student=student, teacher=teacher, verifier=verifier(),
        on_event=events.append,
    )  # fmt: skip
    by_text = {rule.text: rule for rule in result.rules}
    assert by_text[HELPFUL].status == "accepted"
    assert by_text[USELESS].status == "rejected"
    assert by_text[GENERIC].status == "generic"
    assert result.optimized_prompt.startswith(config.prompt.base)
    assert HELPFUL in result.optimized_prompt and USELESS not in result.optimized_prompt
    metrics = result.metrics
    assert metrics.test_accuracy_final == 1.0
    assert metrics.test_accuracy_base < 1.0
    assert metrics.test_fixed > 0 and metrics.test_broken == 0
    accepted = by_text[HELPFUL]
    assert accepted.fixed and not accepted.broken and accepted.p_value is not None
    assert accepted.validation_delta and accepted.validation_delta > 0
    for name in (
        "config.yaml",
        "splits.json",
        "optimized_prompt.json",
        "optimized_prompt.txt",
        "rules.jsonl",
        "spend.json",
        "metrics.json",
        "report.html",
        "checkpoints.sqlite",
    ):
        assert (run_dir / name).exists(), name
    document = json.loads((run_dir / "optimized_prompt.json").read_text())
    assert document["prompt"] == result.optimized_prompt
    assert [rule["text"] for rule in document["rules"]] == [HELPFUL]
    ledger = [json.loads(line) for line in (run_dir / "rules.jsonl").read_text().splitlines()]
    assert {row["text"] for row in ledger} >= {HELPFUL, USELESS, GENERIC}
    splits = json.loads((run_dir / "splits.json").read_text())
    test_rows = (run_dir / "results" / "test-final.jsonl").read_text().splitlines()
    assert sorted(json.loads(r)["example_id"] for r in test_rows) == sorted(splits["test"])
    # The teacher saw train mistakes only, never test or validation examples.
    shown = "\n".join(str(m["content"]) for call in teacher_model.calls for m in call)
    test_questions = {json.loads(r)["example_id"] for r in test_rows}
    assert not any(example_id in shown for example_id in test_questions)
    assert any(event.event == "phase" for event in events)
    html = (run_dir / "report.html").read_text()
    assert HELPFUL.replace("'", "&#x27;") in html and "100.0%" in html


@pytest.mark.anyio
async def test_patience_stops_when_nothing_is_accepted(tmp_path: Path) -> None:
    config = make_config(tmp_path, patience=1)
    student, _ = rule_following_student(config)
    teacher, teacher_model = scripted_teacher([[USELESS]])
    result = await distill(
        config, run_dir=tmp_path / "r", student=student, teacher=teacher, verifier=verifier()
    )
    assert result.accepted_rules == []
    assert result.optimized_prompt == config.prompt.base
    assert "no rule accepted in 1 round" in result.metrics.stop_reason
    assert len(teacher_model.calls) == 1
    assert result.metrics.test_difference == 0.0


@pytest.mark.anyio
async def test_malformed_teacher_output_is_recorded_not_accepted(tmp_path: Path) -> None:
    from concept_distill.agents.teacher import ChatTeacher
    from concept_distill.testing import ScriptedChatModel

    config = make_config(tmp_path, patience=2, max_iterations=2)
    student, _ = rule_following_student(config)
    model = ScriptedChatModel(reply=lambda _m: "sure! here are some rules: be good", role="teacher")
    teacher = ChatTeacher(model, student.task)
    result = await distill(
        config, run_dir=tmp_path / "r", student=student, teacher=teacher, verifier=verifier()
    )
    assert result.accepted_rules == []
    malformed = [rule for rule in result.rules if rule.status == "malformed"]
    assert len(malformed) == 2 and "malformed teacher output" in malformed[0].reason
    assert result.metrics.iterations == 2
