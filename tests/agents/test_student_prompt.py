"""Where the rules go: the messages the student receives for each placement."""

from __future__ import annotations

import pytest

from concept_distill.agents.prompts import prompt_with_rules
from concept_distill.agents.student_prompt import Shot, StudentPrompt, with_worked_examples
from concept_distill.errors import ConfigError
from concept_distill.records import Example
from concept_distill.tasks import build_task

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


def test_worked_examples_come_between_the_system_prompt_and_the_problem() -> None:
    shots = (
        Shot(question="1+1?", answer="2.\nThe answer is 2."),
        Shot(question="2+2?", answer="4"),
    )
    prompt = StudentPrompt(base="Be brief.", rules=("Add.",), placement="user_after", shots=shots)
    assert prompt.messages("3+3?") == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "1+1?"},
        {"role": "assistant", "content": "2.\nThe answer is 2."},
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "3+3?\n\nFollow these rules:\n- Add."},
    ]


def test_gsm8k_worked_examples_lose_their_calculator_marks_and_end_with_the_answer() -> None:
    task = build_task("gsm8k")
    solution = "Half of 48 is 48/2 = <<48/2=24>>24.\nIn all 48+24 = <<48+24=72>>72.\n#### 72"
    example = Example(id="x", question="How many?", answer="72", meta={"solution": solution})
    assert task.worked_solution(example) == (
        "Half of 48 is 48/2 = 24.\nIn all 48+24 = 72.\nThe answer is 72."
    )
    assert task.worked_solution(example.model_copy(update={"meta": {}})) is None


def test_worked_examples_skip_examples_without_a_solution_and_refuse_too_few() -> None:
    task = build_task("gsm8k")
    train = [
        Example(id="a", question="A?", answer="1"),
        Example(id="b", question="B?", answer="2", meta={"solution": "1+1\n#### 2"}),
        Example(id="c", question="C?", answer="3", meta={"solution": "1+2\n#### 3"}),
    ]
    prompt = with_worked_examples("Base.", task, train, 2)
    assert [shot.question for shot in prompt.shots] == ["B?", "C?"]
    assert prompt.shots[1].answer == "1+2\nThe answer is 3."
    with pytest.raises(ConfigError, match="--shots 3: the train split has 2 example"):
        with_worked_examples("Base.", task, train, 3)
