"""The teacher's view of a mistake, its samples, its rule form and its prompt size, with fakes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.runnables import RunnableConfig

from concept_distill.agents.prompts import estimate_tokens
from concept_distill.agents.teacher import ChatTeacher
from concept_distill.errors import ModelError
from concept_distill.models.accounting import Spend
from concept_distill.models.messages import MessagesInput
from concept_distill.models.replies import ChatReply, SchemaT, StructuredResult
from concept_distill.records import Attempt, Example, ExampleResult, Judgement
from concept_distill.tasks import JsonlFields, build_task
from concept_distill.testing import ScriptedChatModel

RULE_A = "When items are eaten, subtract them from what was there before."
RULE_A_AGAIN = "When items were eaten, subtract them from what was there before."
RULE_B = "When a price is per item, multiply it by the number of items."
RULE_C = "When the question asks for a difference, subtract the smaller from the larger."


def wrong(example: Example, reply: str = "The answer is 5.") -> tuple[Example, ExampleResult]:
    attempt = Attempt(example_id=example.id, reply=reply)
    judgement = Judgement(outcome="wrong", reason="expected 24, the reply's final answer was 5")
    return example, ExampleResult(example_id=example.id, attempt=attempt, judgement=judgement)


def reply_json(*rules: str, example: str | None = None, diagnosis: str = "Adds.") -> str:
    shown = [{"rule": rule, "example": example, "mistakes": [1]} for rule in rules]
    return json.dumps({"diagnosis": diagnosis, "rules": shown})


def gsm8k_example(tmp_path: Path) -> Example:
    line = {
        "question": "A baker bakes 4 trays of 6 rolls. How many rolls?",
        "answer": "He bakes 4*6=<<4*6=24>>24 rolls.\n#### 24",
    }
    path = tmp_path / "gsm8k.jsonl"
    path.write_text(json.dumps(line) + "\n")
    return build_task("gsm8k", path=path).load()[0]


def test_the_teacher_sees_the_worked_solution_without_calculator_notes(tmp_path: Path) -> None:
    example = gsm8k_example(tmp_path)
    teacher = ChatTeacher(ScriptedChatModel(), build_task("gsm8k", path=tmp_path / "gsm8k.jsonl"))
    user = teacher.messages("Be helpful.", [wrong(example)])[1]["content"]
    assert "Reference answer:\n24\nWorked solution:\nHe bakes 4*6=24 rolls.\n#### 24" in user
    assert "=<<" not in user and "24>>" not in user


def test_without_a_solution_the_reference_is_the_answer_alone(tmp_path: Path) -> None:
    example = Example(id="m-1", question="How many legs have 2 cats?", answer="8")
    teacher = ChatTeacher(ScriptedChatModel(), build_task("gsm8k", path=tmp_path / "unused.jsonl"))
    user = teacher.messages("Be helpful.", [wrong(example)])[1]["content"]
    assert "Reference answer:\n8\n" in user
    assert "Worked solution" not in user


def test_a_jsonl_solution_field_reaches_the_teacher(tmp_path: Path) -> None:
    row = {"q": "Half of 10?", "a": "5", "work": "10 / 2 = 5", "source": "book"}
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with_solution = build_task(
        "jsonl", path=path, fields=JsonlFields(input="q", answer="a", solution="work")
    )
    example = with_solution.load()[0]
    assert example.meta == {"solution": "10 / 2 = 5", "source": "book"}
    user = ChatTeacher(ScriptedChatModel(), with_solution).messages("", [wrong(example)])[1][
        "content"
    ]
    assert "Worked solution:\n10 / 2 = 5" in user
    plain = build_task("jsonl", path=path, fields=JsonlFields(input="q", answer="a"))
    assert plain.load()[0].meta == {"work": "10 / 2 = 5", "source": "book"}


def test_the_system_prompt_protects_the_small_students_reasoning(tmp_path: Path) -> None:
    teacher = ChatTeacher(ScriptedChatModel(), build_task("gsm8k", path=tmp_path / "unused.jsonl"))
    system = " ".join(teacher.messages("", [])[0]["content"].split())
    assert "The student is a small model" in system
    assert "must never silence that reasoning" in system
    assert "a rule that makes replies short makes the student worse" in system


@pytest.mark.anyio
async def test_bare_rules_drop_an_illustration_and_illustrated_ones_keep_it(tmp_path: Path) -> None:
    task = build_task("gsm8k", path=tmp_path / "unused.jsonl")
    example = Example(id="m-1", question="q", answer="1")
    scripted = reply_json(RULE_B, example="3 pens at 2 dollars: 3 x 2 = 6.")
    bare = ChatTeacher(ScriptedChatModel([scripted]), task)
    assert '"example"' not in bare.messages("", [])[0]["content"]
    induction = await bare.induce("", [wrong(example)])
    assert induction.reply is not None
    assert induction.reply.rules[0].example is None
    assert induction.reply.rules[0].student_text() == RULE_B
    illustrated = ChatTeacher(ScriptedChatModel([scripted]), task, rule_form="illustrated")
    assert '"example"' in illustrated.messages("", [])[0]["content"]
    induction = await illustrated.induce("", [wrong(example)])
    assert induction.reply is not None
    assert induction.reply.rules[0].example == "3 pens at 2 dollars: 3 x 2 = 6."
    assert (
        induction.reply.rules[0].student_text()
        == f"{RULE_B} Example: 3 pens at 2 dollars: 3 x 2 = 6."
    )


class PerSampleTeacherModel:
    """A teacher whose reply depends on the sample index; a missing index is a failed call."""

    role = "teacher"

    def __init__(self, replies: dict[int, str]) -> None:
        self.replies = replies
        self.sample_indices: list[int] = []

    async def complete(
        self,
        messages: MessagesInput,
        *,
        sample_index: int = 0,
        config: RunnableConfig | None = None,
    ) -> ChatReply:
        raise AssertionError("the teacher asks for structured output")

    async def structured(
        self,
        messages: MessagesInput,
        schema: type[SchemaT],
        *,
        sample_index: int = 0,
        config: RunnableConfig | None = None,
    ) -> StructuredResult[SchemaT]:
        self.sample_indices.append(sample_index)
        if sample_index not in self.replies:
            raise ModelError("endpoint down")
        return await ScriptedChatModel([self.replies[sample_index]]).structured(messages, schema)

    def spend(self) -> Spend:
        return ScriptedChatModel().spend()


@pytest.mark.anyio
async def test_samples_have_distinct_indices_and_merge_without_near_duplicates(
    tmp_path: Path,
) -> None:
    task = build_task("gsm8k", path=tmp_path / "unused.jsonl")
    model = PerSampleTeacherModel(
        {
            0: reply_json(RULE_A, RULE_B, diagnosis="Adds."),
            1: reply_json(RULE_A_AGAIN, RULE_C, diagnosis="Adds."),
            3: reply_json(RULE_B, diagnosis="Forgets the price."),
        }
    )
    teacher = ChatTeacher(model, task, max_rules=2)
    mistakes = [wrong(Example(id="m-1", question="q", answer="24"))]
    induction = await teacher.induce("", mistakes, samples=4)
    assert sorted(model.sample_indices) == [0, 1, 2, 3]
    assert induction.reply is not None
    assert [rule.rule for rule in induction.reply.rules] == [RULE_A, RULE_B, RULE_C]
    assert induction.reply.diagnosis == "Adds.\nForgets the price."
    assert induction.samples == 4
    assert induction.failure == "1 of 4 teacher samples failed: teacher call failed: endpoint down"


@pytest.mark.anyio
async def test_when_every_sample_fails_there_is_no_reply(tmp_path: Path) -> None:
    teacher = ChatTeacher(PerSampleTeacherModel({}), build_task("gsm8k", path=tmp_path / "u.jsonl"))
    induction = await teacher.induce(
        "", [wrong(Example(id="m", question="q", answer="1"))], samples=2
    )
    assert induction.reply is None
    assert induction.failure.startswith("2 of 2 teacher samples failed: teacher call failed")
    with pytest.raises(ValueError, match="at least 1"):
        await teacher.induce("", [], samples=0)


@pytest.mark.parametrize(
    ("text", "chars_per_token", "tokens"),
    [("", 3.0, 0), ("abcdef", 3.0, 2), ("abcdefg", 3.0, 3), ("abcdefg", 3.5, 2), ("ab", 4.0, 1)],
)
def test_estimate_tokens_rounds_up(text: str, chars_per_token: float, tokens: int) -> None:
    assert estimate_tokens(text, chars_per_token) == tokens


def test_prompt_tokens_count_the_whole_prompt(tmp_path: Path) -> None:
    task = build_task("gsm8k", path=tmp_path / "unused.jsonl")
    teacher = ChatTeacher(ScriptedChatModel(), task, chars_per_token=1.0)
    one = [wrong(Example(id="a", question="x" * 300, answer="1"))]
    two = [*one, wrong(Example(id="b", question="y" * 300, answer="2"))]
    characters = sum(len(m["content"]) for m in teacher.messages("Be brief.", one))
    assert teacher.prompt_tokens("Be brief.", one) == characters
    assert teacher.prompt_tokens("Be brief.", two) >= characters + 300
    halved = ChatTeacher(ScriptedChatModel(), task, chars_per_token=2.0)
    assert halved.prompt_tokens("Be brief.", one) in (characters // 2, characters // 2 + 1)
