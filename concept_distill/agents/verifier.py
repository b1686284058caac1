"""The verifier: judges an attempt as correct, wrong, or unjudged (system trouble), with a reason.

Code runs in the sandbox against the example's tests; other answers go to the task's scorer.
"""

from __future__ import annotations

from typing import Protocol

from concept_distill.errors import SandboxUnavailable
from concept_distill.records import Attempt, Example, Judgement
from concept_distill.sandbox import Verdict
from concept_distill.tasks.base import Task


class CodeRunner(Protocol):
    """What the verifier needs of a sandbox (the real `Sandbox`, or a scripted one in tests)."""

    async def run(
        self, program: str, tests: str, *, entry_point: str | None = None, trusted: str = ""
    ) -> Verdict:
        """Run `program` against `tests`."""
        ...


class TaskVerifier:
    """Judges attempts for one task; needs a sandbox only for code tasks."""

    def __init__(self, task: Task, sandbox: CodeRunner | None = None) -> None:
        if task.checks_code and sandbox is None:
            raise ValueError(f"task {task.name} checks code: the verifier needs a sandbox")
        self.task = task
        self.sandbox = sandbox

    async def judge(self, example: Example, attempt: Attempt) -> Judgement:
        """Correct or wrong with a reason a teacher can use; unjudged when the system failed."""
        if attempt.error is not None:
            return Judgement(outcome="unjudged", reason=f"no reply: {attempt.error}")
        extracted = self.task.extract(example, attempt.reply)
        if extracted is None:
            what = "no code" if self.task.checks_code else "no answer"
            return Judgement(outcome="wrong", reason=f"{what} found in the reply")
        if self.task.checks_code:
            return await self._run_code(example, extracted)
        correct, reason = self.task.score(example, extracted)
        return Judgement(
            outcome="correct" if correct else "wrong", reason=reason, extracted=extracted
        )

    async def _run_code(self, example: Example, program: str) -> Judgement:
        assert self.sandbox is not None
        try:
            verdict = await self.sandbox.run(
                program,
                example.tests,
                entry_point=example.entry_point,
                trusted=example.trusted_code,
            )
        except SandboxUnavailable as error:
            return Judgement(outcome="unjudged", reason=f"sandbox unavailable: {error}")
        if verdict.passed:
            return Judgement(outcome="correct", extracted=program, verdict=verdict)
        reason = f"{verdict.status}: {verdict.detail}" if verdict.detail else verdict.status
        return Judgement(outcome="wrong", reason=reason, extracted=program, verdict=verdict)
