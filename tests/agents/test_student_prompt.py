"""Where the rules go: the messages the student receives for each placement."""

from __future__ import annotations

import pytest

from concept_distill.agents.prompts import prompt_with_rules
from concept_distill.agents.student_prompt import StudentPrompt

RULES = ("Write one step per line.", "End with 'The answer is N.'")
BLOCK = "Follow these rules:\n- Write one step per line.\n- End with 'The answer is N.'"


@pytest.mark.parametrize(
    ("placement", "system", "user"),
    [
        ("system", f"Be helpful.\n\n{BLOCK}", "2+2?"),
        ("user_before", "Be helpful.", f"{BLOCK}\n\n2+2?"),
        ("user_after", "Be helpful.", f"2+2?\n\n{BLOCK}"),
    ],
)
def test_each_placement_puts_the_rules_in_one_place(placement: str, system: str, user: str) -> None:
    prompt = StudentPrompt(base="Be helpful.", rules=RULES, placement=placement)  # type: ignore[arg-type]
    assert prompt.messages("2+2?") == [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
    ]


def test_without_rules_every_placement_sends_the_base_prompt_and_the_problem() -> None:
    for placement in ("system", "user_before", "user_after"):
        prompt = StudentPrompt(base="Be helpful.", placement=placement)  # type: ignore[arg-type]
        assert prompt.messages("2+2?") == [
            {"role": "system", "content": "Be helpful."},
            {"role": "user", "content": "2+2?"},
        ]


def test_an_empty_base_prompt_sends_no_system_message() -> None:
    assert StudentPrompt(base="  ").messages("2+2?") == [{"role": "user", "content": "2+2?"}]


def test_system_placement_keeps_the_text_earlier_runs_sent() -> None:
    # Cached replies of earlier runs stay valid: the system text is unchanged by the refactor.
    expected = "Be helpful.\n\nFollow these rules:\n- Write one step per line.\n- End with 'The answer is N.'"
    assert StudentPrompt(base="Be helpful. ", rules=RULES).system == expected
    assert prompt_with_rules("Be helpful. ", list(RULES)) == expected


def test_describe_says_where_user_placed_rules_go() -> None:
    text = StudentPrompt(base="B.", rules=RULES[:1], placement="user_before").describe()
    assert (
        text
        == "B.\n\n[in the user message, before the problem]\nFollow these rules:\n- Write one step per line."
    )
