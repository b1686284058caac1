"""The Task contract: load examples, render the student's message, extract and score an answer."""

from __future__ import annotations

from abc import ABC, abstractmethod

from concept_distill.records import Example


class Task(ABC):
    """One kind of problem. Code tasks are judged by the sandbox; others by `score`."""

    name: str = "task"
    description: str = "Solve the problem."
    checks_code: bool = False

    @abstractmethod
    def load(self) -> list[Example]:
        """Every example of the data set, in a stable order; ConfigError on bad data."""

    def render(self, example: Example) -> str:
        """The user message the student sees for `example`."""
        return example.question

    @abstractmethod
    def extract(self, example: Example, reply: str) -> str | None:
        """The answer (a number, a program, ...) found in the reply, or None when there is none."""

    def worked_solution(self, example: Example) -> str | None:
        """The example's worked solution as a model should write it, if the data has one.

        Shown to the teacher, and as a demonstration in the few-shot baseline (`eval --shots`).
        """
        solution = example.meta.get("solution")
        return str(solution) if solution else None

    def score(self, example: Example, extracted: str) -> tuple[bool, str]:
        """Whether an extracted (non-code) answer is right, and why not when it is not."""
        raise NotImplementedError(f"{self.name} is judged by the sandbox")
