"""Greedy acceptance order and budget stops, with scripted agents."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fakes import HELPFUL, USELESS, make_config, scripted_teacher, verifier

from concept_distill.config import Config
from concept_distill.distillation import distill
from concept_distill.models.messages import WireMessage
from concept_distill.tasks import build_task
from concept_distill.testing import ScriptedChatModel

PARTIAL = "When the total is a multiple of three, state it as 'The answer is N.'"


def two_rule_student() -> ScriptedChatModel:
    """A student model: HELPFUL fixes every odd answer; PARTIAL only those divisible by three."""
    task = build_task("multiarith")
    gold = {example.question: example.answer for example in task.load()}

    def reply(messages: list[WireMessage]) -> str:
        system = str(messages[0]["content"]) if messages[0]["role"] == "system" else ""
        answer = int(float(gold[str(messages[-1]["content"])]))
        fixed = HELPFUL in system or (PARTIAL in system and answer % 3 == 0)
        return f"The answer is {answer}." if answer % 2 == 0 or fixed else "Hmm."

    return ScriptedChatModel(reply=reply, role="student")


@pytest.mark.anyio
async def test_greedy_acceptance_takes_the_best_then_rechecks_the_rest(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    config = config.model_copy(
        update={"acceptance": config.acceptance.model_copy(update={"policy": "threshold"})}
    )
    teacher, _ = scripted_teacher([[PARTIAL, HELPFUL, USELESS]])
    result = await distill(
        config, run_dir=tmp_path / "r", student=two_rule_student(), teacher=teacher,
        verifier=verifier(),
    )  # fmt: skip
    rules = {rule.text: rule for rule in result.rules}
    assert rules[HELPFUL].status == "accepted"
    # PARTIAL alone would have helped, but re-checked against prompt + HELPFUL it adds nothing.
    assert rules[PARTIAL].status == "rejected"
    assert rules[PARTIAL].fixed == [] and rules[PARTIAL].validation_delta == 0.0
    assert result.accepted_rules == [rules[HELPFUL]]


@pytest.mark.anyio
async def test_a_spent_budget_stops_the_loop(tmp_path: Path) -> None:
    config = Config.model_validate(
        {
            **make_config(tmp_path).model_dump(mode="json"),
            "loop": {"max_iterations": 5, "patience": 5, "mistakes_per_batch": 1},
            "budget": {"student_calls": 40},
        }
    )
    teacher, teacher_model = scripted_teacher([[USELESS]] * 5)
    result = await distill(
        config, run_dir=tmp_path / "r", student=two_rule_student(), teacher=teacher,
        verifier=verifier(),
    )  # fmt: skip
    assert result.metrics.stop_reason.startswith("budget:")
    assert "student calls" in result.metrics.stop_reason
    assert result.metrics.iterations == 1 and len(teacher_model.calls) == 1
