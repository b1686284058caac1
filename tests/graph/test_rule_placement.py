"""Rules placed in the user message: a student that reads only its user message is helped, and
the placement travels with the optimized prompt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.fakes import HELPFUL, answer_with_rule, make_config
from support.roles import proposing_teacher

from concept_distill import distill, load_optimized_prompt
from concept_distill.testing import ScriptedChatModel

pytestmark = pytest.mark.anyio


def user_reading_student() -> ScriptedChatModel:
    """Follows a rule only when it is in the user message (ignores the system prompt)."""

    def reply(messages: list[Any]) -> str:
        user = str(messages[-1]["content"])
        question = user.split("\n\nFollow these rules:")[0]
        return answer_with_rule(user if HELPFUL in user else "", question)

    return ScriptedChatModel(role="student", reply=reply)


@pytest.mark.parametrize(("placement", "helped"), [("user_after", True), ("system", False)])
async def test_the_placement_decides_whether_a_user_reading_student_is_helped(
    tmp_path: Path, placement: str, helped: bool
) -> None:
    config = make_config(tmp_path, max_iterations=1)
    data = config.model_dump(mode="json")
    data["prompt"]["rule_placement"] = placement
    config = type(config).model_validate(data)
    result = await distill(config, student=user_reading_student(), teacher=proposing_teacher())
    accepted = [rule.text for rule in result.accepted_rules]
    assert accepted == ([HELPFUL] if helped else [])
    document = json.loads((result.run_dir / "optimized_prompt.json").read_text())
    assert document["placement"] == placement
    prompt = load_optimized_prompt(result.run_dir)
    messages = prompt.messages("Q?")
    if helped:
        assert document["prompt"] == config.prompt.base, "the system message keeps no rule"
        assert messages[-1]["content"] == f"Q?\n\nFollow these rules:\n- {HELPFUL}"
        assert result.metrics.test_accuracy_final == 1.0
