"""The evaluation's breaker: a large share of unjudged examples stops the run, wrong answers never."""

from __future__ import annotations

import pytest

from concept_distill.agents.student import ChatStudent
from concept_distill.agents.verifier import TaskVerifier
from concept_distill.errors import ModelError, ModelUnavailable, SystemFailure
from concept_distill.loop.evaluation import evaluate
from concept_distill.loop.health import FailureLimits, check_unjudged
from concept_distill.models.messages import WireMessage
from concept_distill.tasks import build_task
from concept_distill.testing import ScriptedChatModel

LIMITS = FailureLimits()


@pytest.mark.parametrize(
    ("unjudged", "finished"),
    [(4, 20), (19, 19), (0, 100), (20, 100), (3, 15)],
)
def test_within_limits_passes(unjudged: int, finished: int) -> None:
    check_unjudged(unjudged, finished, LIMITS, label="validation")


@pytest.mark.parametrize(("unjudged", "finished"), [(5, 20), (21, 100), (20, 20)])
def test_over_the_share_after_enough_examples_stops(unjudged: int, finished: int) -> None:
    with pytest.raises(SystemFailure) as caught:
        check_unjudged(unjudged, finished, LIMITS, label="validation")
    assert f"validation: {unjudged} of {finished} examples" in str(caught.value)


def test_thresholds_are_configurable() -> None:
    limits = FailureLimits(max_unjudged_share=0.5, min_examples=4)
    check_unjudged(2, 4, limits, label="x")
    with pytest.raises(SystemFailure):
        check_unjudged(3, 4, limits, label="x")


def _student(reply: object) -> ChatStudent:
    task = build_task("multiarith")
    return ChatStudent(ScriptedChatModel(reply=reply, role="student"), task)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_mostly_unjudged_evaluation_stops_with_one_bare_error() -> None:
    task = build_task("multiarith")
    examples = task.load()[:40]
    calls = 0

    def flaky(messages: list[WireMessage]) -> str:
        nonlocal calls
        calls += 1
        if calls % 2:
            raise ModelError("student model 'm' at http://x/v1 failed: HTTP 500")
        return "The answer is 1."

    with pytest.raises(SystemFailure) as caught:
        await evaluate(
            "", examples, student=_student(flaky), verifier=TaskVerifier(task), concurrency=1
        )
    # Raised bare (not an ExceptionGroup) as soon as 20 examples were finished.
    assert type(caught.value) is SystemFailure
    assert "10 of 20 examples" in str(caught.value)
    # Stopped promptly: examples woken as the 20th finished may still have made their call.
    assert 20 <= calls < 25


@pytest.mark.anyio
async def test_wrong_answers_never_count() -> None:
    task = build_task("multiarith")
    examples = task.load()[:40]

    def wrong(messages: list[WireMessage]) -> str:
        return "The answer is -12345."

    result = await evaluate("", examples, student=_student(wrong), verifier=TaskVerifier(task))
    assert result.judged == 40 and result.correct == 0


@pytest.mark.anyio
async def test_an_unavailable_model_is_not_swallowed_by_the_student() -> None:
    task = build_task("multiarith")

    def refused(messages: list[WireMessage]) -> str:
        raise ModelUnavailable("student: HTTP 401", role="student", endpoint="http://x/v1")

    with pytest.raises(ModelUnavailable):
        await evaluate("", task.load()[:8], student=_student(refused), verifier=TaskVerifier(task))
