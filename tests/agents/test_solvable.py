"""ChatTeacher solves first: the teacher's own solution, and the mistakes it may then be shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from concept_distill.agents.solvable import scorer_judge, solved_mistakes, verifier_judge
from concept_distill.agents.teacher import ChatTeacher
from concept_distill.agents.verifier import TaskVerifier
from concept_distill.errors import ModelError
from concept_distill.models.messages import WireMessage
from concept_distill.records import Attempt, Example, ExampleResult, Judgement
from concept_distill.sandbox import Verdict
from concept_distill.sandbox.verdict import VerdictStatus
from concept_distill.tasks import HumanEvalTask, build_task
from concept_distill.testing import ScriptedChatModel

ROLLS = Example(id="g-1", question="A baker bakes 4 trays of 6 rolls. How many rolls?", answer="24")
LEGS = Example(id="g-2", question="How many legs have 3 cats?", answer="12")
PENS = Example(id="g-3", question="Tom has 9 pens and gives away 4. How many are left?", answer="5")


def wrong(example: Example) -> tuple[Example, ExampleResult]:
    attempt = Attempt(example_id=example.id, reply="The answer is 1.")
    judgement = Judgement(outcome="wrong", reason="expected more")
    return example, ExampleResult(example_id=example.id, attempt=attempt, judgement=judgement)


def test_only_mistakes_the_teacher_solved_are_kept(tmp_path: Path) -> None:
    judge = scorer_judge(build_task("gsm8k", path=tmp_path / "unused.jsonl"))
    assert judge is not None
    mistakes = [wrong(ROLLS), wrong(LEGS), wrong(PENS)]
    solutions = {
        "g-1": "4 trays of 6 is 24.\nThe answer is 24.",
        "g-2": "Each cat has 4 legs, 3 + 4 = 7. The answer is 7.",
        "g-3": None,
    }
    kept = solved_mistakes(mistakes, solutions, judge)
    assert [example.id for example, _ in kept] == ["g-1"]
    assert solved_mistakes(mistakes, {"g-2": "so 3 x 4 = 12 legs"}, judge) == [mistakes[1]]
    assert solved_mistakes(mistakes, {}, judge) == []


def test_without_a_judge_every_mistake_is_kept() -> None:
    mistakes = [wrong(ROLLS), wrong(LEGS)]
    assert solved_mistakes(mistakes, {}, None) == mistakes


def test_a_code_task_needs_a_judge_from_the_sandbox() -> None:
    assert scorer_judge(HumanEvalTask(Path("unused.jsonl.gz"))) is None
    verdicts = {"g-1": False, "g-2": True}
    kept = solved_mistakes(
        [wrong(ROLLS), wrong(LEGS)],
        {"g-1": "def f(): ...", "g-2": "def f(): ..."},
        lambda example, _reply: verdicts[example.id],
    )
    assert [example.id for example, _ in kept] == ["g-2"]


@pytest.mark.anyio
async def test_the_teacher_solves_the_problem_as_the_student_sees_it(tmp_path: Path) -> None:
    model = ScriptedChatModel(["4 x 6 = 24. The answer is 24."], role="teacher")
    teacher = ChatTeacher(model, build_task("gsm8k", path=tmp_path / "unused.jsonl"))
    assert await teacher.solve(ROLLS) == "4 x 6 = 24. The answer is 24."
    system, user = model.calls[0]
    assert system["role"] == "system"
    assert "Reason step by step" in str(system["content"])
    assert "The answer is N." in str(system["content"])
    assert user == {"role": "user", "content": ROLLS.question}


@pytest.mark.anyio
async def test_solve_all_answers_each_example_and_records_a_failed_call(tmp_path: Path) -> None:
    def reply(messages: list[WireMessage]) -> str:
        question = str(messages[-1]["content"])
        if "cats" in question:
            raise ModelError("endpoint down")
        return "The answer is 24." if "rolls" in question else "The answer is 5."

    teacher = ChatTeacher(
        ScriptedChatModel(reply=reply), build_task("gsm8k", path=tmp_path / "u.jsonl")
    )
    solutions = await teacher.solve_all([ROLLS, LEGS, PENS])
    assert solutions == {"g-1": "The answer is 24.", "g-2": None, "g-3": "The answer is 5."}
    judge = scorer_judge(teacher.task)
    kept = solved_mistakes([wrong(ROLLS), wrong(LEGS), wrong(PENS)], solutions, judge)
    assert [example.id for example, _ in kept] == ["g-1", "g-3"]


class ScriptedRunner:
    """A sandbox stand-in: a program passes when it adds its arguments."""

    def __init__(self) -> None:
        self.programs: list[str] = []

    async def run(
        self, program: str, tests: str, *, entry_point: str | None = None, trusted: str = ""
    ) -> Verdict:
        self.programs.append(program)
        status: VerdictStatus = "passed" if "return a + b" in program else "failed"
        return Verdict(status=status, duration_s=0.01)


@pytest.mark.anyio
async def test_a_code_task_is_judged_by_the_verifiers_sandbox() -> None:
    stub = 'def add(a, b):\n    """Add two numbers."""\n'
    examples = [
        Example(
            id=f"h-{n}", question=stub, answer="", tests="assert add(1, 2) == 3", entry_point="add"
        )
        for n in range(3)
    ]
    runner = ScriptedRunner()
    judge = await verifier_judge(
        TaskVerifier(HumanEvalTask(Path("unused.jsonl.gz")), sandbox=runner),
        examples,
        {
            "h-0": "```python\ndef add(a, b):\n    return a + b\n```",
            "h-1": "    return a - b\n",
            "h-2": None,
        },
    )
    kept = solved_mistakes([wrong(e) for e in examples], {"h-0": "", "h-1": "", "h-2": ""}, judge)
    assert [example.id for example, _ in kept] == ["h-0"]
    assert len(runner.programs) == 2
