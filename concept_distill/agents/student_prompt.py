"""What the student is told: a base system prompt, the accepted rules, and where the rules go.

Small students often ignore an instruction in the system prompt and follow one next to the
question (measured on GSM8K with Qwen2.5-Coder-0.5B: one rule in the system prompt 3/58, the same
rule in the user message 9/58), so where the rules go is part of the result: it is recorded in
`optimized_prompt.json` and honoured when the prompt is loaded again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from concept_distill.errors import ConfigError
from concept_distill.records import Example

if TYPE_CHECKING:
    from concept_distill.tasks.base import Task

RulePlacement = Literal["system", "user_before", "user_after"]
"""system: appended to the system prompt; user_before / user_after: in the user message, before
or after the problem."""

RULES_HEADER = "Follow these rules:\n"


class Shot(BaseModel):
    """A worked example shown before the problem: a user turn and the assistant's answer."""

    model_config = ConfigDict(frozen=True)

    question: str = Field(description="The user message, as the task renders it.")
    answer: str = Field(description="The worked solution, ending in the answer.")


class StudentPrompt(BaseModel):
    """A base prompt (never replaced), the rules in acceptance order, and their placement.

    `shots` are worked examples for the few-shot baseline of the study; distillation adds none.
    """

    model_config = ConfigDict(frozen=True)

    base: str = Field(description="The system prompt the rules are added to.")
    rules: tuple[str, ...] = Field((), description="Accepted rules, in acceptance order.")
    placement: RulePlacement = Field("system", description="Where the rules go.")
    shots: tuple[Shot, ...] = Field((), description="Worked examples before the problem.")

    def with_rules(self, rules: tuple[str, ...] | list[str]) -> StudentPrompt:
        """The same base and placement with these rules."""
        return self.model_copy(update={"rules": tuple(rules)})

    def rules_block(self) -> str:
        """The rules as the student reads them ('' when there are none)."""
        if not self.rules:
            return ""
        return RULES_HEADER + "\n".join(f"- {rule}" for rule in self.rules)

    @property
    def system(self) -> str:
        """The system message (the base prompt, plus the rules when they go there)."""
        if self.placement != "system" or not self.rules:
            return self.base
        return f"{self.base.rstrip()}\n\n{self.rules_block()}"

    def user(self, problem: str) -> str:
        """The user message for one problem (with the rules when they go there)."""
        block = self.rules_block()
        if self.placement == "system" or not block:
            return problem
        if self.placement == "user_before":
            return f"{block}\n\n{problem}"
        return f"{problem}\n\n{block}"

    def messages(self, problem: str) -> list[dict[str, str]]:
        """The chat: the system message (if any), the worked examples, then the user message."""
        system = [{"role": "system", "content": self.system}] if self.system.strip() else []
        shots = [
            {"role": role, "content": content}
            for shot in self.shots
            for role, content in (("user", shot.question), ("assistant", shot.answer))
        ]
        return [*system, *shots, {"role": "user", "content": self.user(problem)}]

    def describe(self) -> str:
        """The prompt as one text, for people and reports.

        Exact for `system`; otherwise the system message, then the rules block and where it goes.
        """
        if self.placement == "system" or not self.rules:
            return self.system
        where = "before" if self.placement == "user_before" else "after"
        return f"{self.system}\n\n[in the user message, {where} the problem]\n{self.rules_block()}"


def as_student_prompt(prompt: StudentPrompt | str) -> StudentPrompt:
    """A plain string is a system prompt with no rules."""
    return prompt if isinstance(prompt, StudentPrompt) else StudentPrompt(base=prompt)


def with_worked_examples(
    prompt: StudentPrompt | str, task: Task, train: Sequence[Example], count: int
) -> StudentPrompt:
    """The prompt with the first `count` train examples that have a worked solution as shots.

    Raises:
        ConfigError: The train split has fewer than `count` examples with a worked solution.
    """
    shots: list[Shot] = []
    for example in train:
        solution = task.worked_solution(example)
        if solution:
            shots.append(Shot(question=task.render(example), answer=solution))
        if len(shots) == count:
            return as_student_prompt(prompt).model_copy(update={"shots": tuple(shots)})
    raise ConfigError(
        f"--shots {count}: the train split has {len(shots)} example(s) with a worked solution"
    )
