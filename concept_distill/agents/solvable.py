"""Teacher solves first: show the teacher only the mistakes it can solve itself.

A teacher that cannot solve a problem should not write a rule about it. The teacher answers each
mistake's problem (`Teacher.solve_all`); a judge says whether that answer is right; the mistakes
it got wrong, or could not answer, are not shown to it (`loop.teacher_solves_first`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import anyio

from concept_distill.agents.contracts import Verifier
from concept_distill.records import Attempt, Example, ExampleResult
from concept_distill.tasks.base import Task

AnswerJudge = Callable[[Example, str], bool]
"""Whether a reply (here: the teacher's own solution) answers the example right."""


def scorer_judge(task: Task) -> AnswerJudge | None:
    """The task's extractor and scorer as a judge; None for a code task.

    A code task is judged by running the program in the sandbox, which is asynchronous and
    belongs to the verifier: use `verifier_judge` when a sandbox is at hand, or pass no judge and
    show every mistake.
    """
    if task.checks_code:
        return None

    def judge(example: Example, reply: str) -> bool:
        extracted = task.extract(example, reply)
        return extracted is not None and task.score(example, extracted)[0]

    return judge


async def verifier_judge(
    verifier: Verifier, examples: Sequence[Example], solutions: Mapping[str, str | None]
) -> AnswerJudge:
    """A judge whose verdicts the verifier gave up front, for any task (code runs in its sandbox).

    Each solution is judged once, concurrently; `unjudged` (sandbox trouble) counts as not solved.
    """
    verdicts: dict[str, bool] = {}

    async def one(example: Example) -> None:
        reply = solutions.get(example.id)
        if reply is None:
            verdicts[example.id] = False
            return
        attempt = Attempt(example_id=example.id, reply=reply)
        verdicts[example.id] = (await verifier.judge(example, attempt)).correct

    async with anyio.create_task_group() as group:
        for example in examples:
            group.start_soon(one, example)
    return lambda example, _reply: verdicts.get(example.id, False)


def solved_mistakes(
    mistakes: Sequence[tuple[Example, ExampleResult]],
    solutions: Mapping[str, str | None],
    judge: AnswerJudge | None,
) -> list[tuple[Example, ExampleResult]]:
    """The mistakes whose problem the teacher solved, in order; all of them when `judge` is None.

    `solutions` holds the teacher's reply per example id (None, or no entry, when it gave none:
    such a mistake is dropped).
    """
    if judge is None:
        return list(mistakes)
    kept = []
    for example, result in mistakes:
        solution = solutions.get(example.id)
        if solution is not None and judge(example, solution):
            kept.append((example, result))
    return kept
