"""The three agent contracts the graph knows: what a student, a teacher and a verifier promise.

The graph reaches agents only through these protocols, so tests and embedding apps can pass
their own (`build_graph(config, student=..., teacher=..., verifier=...)`). The package's own
implementations are `ChatStudent`, `ChatTeacher` and `TaskVerifier`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from langchain_core.runnables import RunnableConfig

from concept_distill.agents.student_prompt import StudentPrompt
from concept_distill.agents.teacher import Induction
from concept_distill.records import Attempt, Example, ExampleResult, Judgement


@runtime_checkable
class Student(Protocol):
    """Answers one example under a prompt; never raises for one example's failure.

    A plain string is a system prompt; a `StudentPrompt` also says where its rules go.
    """

    async def answer(
        self, prompt: StudentPrompt | str, example: Example, *, config: RunnableConfig | None = None
    ) -> Attempt:
        """The reply; a model failure after retries is recorded in `Attempt.error`."""
        ...


@runtime_checkable
class Teacher(Protocol):
    """Reads a batch of mistakes and proposes rules; a failed or malformed reply is data."""

    async def induce(
        self,
        prompt: str,
        mistakes: list[tuple[Example, ExampleResult]],
        *,
        samples: int = 1,
        config: RunnableConfig | None = None,
    ) -> Induction:
        """A diagnosis and candidate rules, or `Induction.failure` saying why not."""
        ...

    def prompt_tokens(self, prompt: str, mistakes: list[tuple[Example, ExampleResult]]) -> int:
        """Estimated tokens of the prompt `induce` would send (for batch budgets)."""
        ...

    async def solve_all(
        self, examples: Sequence[Example], *, config: RunnableConfig | None = None
    ) -> dict[str, str | None]:
        """The teacher's own reply to each example (None when its call failed)."""
        ...


@runtime_checkable
class Verifier(Protocol):
    """Judges an attempt: correct, wrong (with a reason), or unjudged (system trouble)."""

    async def judge(self, example: Example, attempt: Attempt) -> Judgement:
        """The judgement; never raises for a bad program or answer."""
        ...
