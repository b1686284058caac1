"""The judging pipeline cannot be hollow: gold answers score 100%, wrong ones 0%, through the
same code path as a real run (ChatStudent -> model layer contract -> TaskVerifier -> sandbox/scorer)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from concept_distill.agents.student import ChatStudent
from concept_distill.agents.verifier import TaskVerifier
from concept_distill.loop.evaluation import compare, evaluate
from concept_distill.models.messages import WireMessage
from concept_distill.records import Example
from concept_distill.sandbox import Sandbox, SandboxLimits
from concept_distill.tasks import HumanEvalTask, Task, build_task
from concept_distill.testing import ScriptedChatModel

REPLY_SHAPES: list[Callable[[str], str]] = [
    lambda n: f"Let me think. The answer is {n}.",
    lambda n: f"Step 1 ... step 2.\n#### {n}",
    lambda n: f"So the total is $\\boxed{{{n}}}$",
    lambda n: f"**Answer:** {n}",
    lambda n: f"We get {n}",
]


def answering(task: Task, examples: list[Example], answer: Callable[[Example], str]) -> ChatStudent:
    by_message = {task.render(example): example for example in examples}

    def reply(messages: list[WireMessage]) -> str:
        return answer(by_message[str(messages[-1]["content"])])

    return ChatStudent(ScriptedChatModel(reply=reply, role="student"), task)


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["multiarith", "svamp", "gsm8k"])
async def test_math_gold_answers_score_all_and_wrong_ones_none(name: str) -> None:
    task = build_task(name)
    examples = task.load()[:60]
    verifier = TaskVerifier(task)

    def gold(example: Example) -> str:
        shape = REPLY_SHAPES[int(example.id.rsplit("-", 1)[-1].removeprefix("chal") or 0) % 5]
        return shape(example.answer)

    def wrong(example: Example) -> str:
        return f"The answer is {float(example.answer) + 1:g}."

    right = await evaluate("", examples, student=answering(task, examples, gold), verifier=verifier)
    bad = await evaluate("", examples, student=answering(task, examples, wrong), verifier=verifier)
    assert right.accuracy == 1.0 and right.judged == len(examples)
    assert bad.accuracy == 0.0 and bad.correct == 0
    assert all("expected" in r.judgement.reason for r in bad.results)
    comparison = compare(bad, right)
    assert comparison.fixed == len(examples) and comparison.broken == 0
    assert comparison.p_better < 1e-6


@pytest.mark.anyio
@pytest.mark.slow
async def test_humaneval_canonical_replies_pass_and_stubs_fail() -> None:
    task = HumanEvalTask()
    examples = task.load()

    def canonical(example: Example) -> str:
        # Half the replies give the whole function in a fence, half only the body.
        if int(example.id.split("/")[1]) % 2:
            return f"Here you go:\n```python\n{example.question}{example.answer}```\n"
        return example.answer

    def stub(example: Example) -> str:
        return "```python\n    return None\n```"

    async with Sandbox(SandboxLimits(timeout_s=10)) as sandbox:
        verifier = TaskVerifier(task, sandbox)
        good = await evaluate(
            "", examples, student=answering(task, examples, canonical), verifier=verifier
        )
        bad = await evaluate(
            "", examples, student=answering(task, examples, stub), verifier=verifier
        )
    failures = [(r.example_id, r.judgement.reason) for r in good.results if not r.judgement.correct]
    assert failures == []
    assert good.accuracy == 1.0
    assert bad.correct == 0 and bad.judged == len(examples)
    assert all(r.judgement.verdict is not None for r in bad.results)


@pytest.mark.anyio
async def test_model_failure_is_unjudged_not_wrong() -> None:
    from concept_distill.errors import ModelError

    task = build_task("multiarith")
    examples = task.load()[:4]

    def broken(messages: list[WireMessage]) -> str:
        raise ModelError("student endpoint http://x/v1: connection refused", retryable=True)

    student = ChatStudent(ScriptedChatModel(reply=broken), task)
    result = await evaluate("", examples, student=student, verifier=TaskVerifier(task))
    assert result.unjudged == 4 and result.judged == 0
    assert all(r.judgement.outcome == "unjudged" for r in result.results)
    assert "connection refused" in result.results[0].judgement.reason
