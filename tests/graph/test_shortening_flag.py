"""A rule that makes the student's replies much shorter is flagged in the rule ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.fakes import HELPFUL, answer_with_rule, make_config
from support.roles import proposing_teacher

from concept_distill import distill
from concept_distill.testing import ScriptedChatModel

pytestmark = pytest.mark.anyio
TERSE = "When you answer, reply with the number only and skip every explanation."
REASONING = " ".join(["step"] * 60)  # 60 words: ScriptedChatModel counts words as tokens


def verbose_student() -> ScriptedChatModel:
    def reply(messages: list[Any]) -> str:
        system = str(messages[0]["content"]) if messages[0]["role"] == "system" else ""
        answer = answer_with_rule(system, str(messages[-1]["content"]))
        return answer if TERSE in system else f"{REASONING} {answer}"

    return ScriptedChatModel(role="student", reply=reply)


async def test_a_rule_that_shrinks_replies_is_flagged(tmp_path: Path) -> None:
    config = make_config(tmp_path, max_iterations=1)
    result = await distill(
        config, student=verbose_student(), teacher=proposing_teacher(TERSE, HELPFUL)
    )
    rules = {rule.text: rule for rule in result.rules}
    terse, helpful = rules[TERSE], rules[HELPFUL]
    # "The answer is N." (4 words) or "No idea." (2) against 60 more words of reasoning.
    assert terse.evidence["reply_length_ratio"] < 0.1
    assert "replies shrank to" in terse.reason
    assert helpful.evidence["reply_length_ratio"] > 0.9
    assert "shrank" not in helpful.reason
    assert result.metrics.cut_share["test-base"] == 0.0
