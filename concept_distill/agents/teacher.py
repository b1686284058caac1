"""The teacher: reads a batch of the student's mistakes, diagnoses them and proposes rules.

It can also solve a problem itself (a plain completion), so that only mistakes it can verify as
solved are shown to it (`agents.solvable`), and it can be sampled several times on one batch, the
rules of all samples merged without near-duplicates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import anyio
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, Field

from concept_distill.agents.prompts import (
    ILLUSTRATION_PREFIX,
    MAX_WORDS,
    RULE_FORMS,
    TEMPLATES,
    RuleForm,
    estimate_tokens,
)
from concept_distill.agents.rule_filters import distinct_rules
from concept_distill.errors import ModelError, single_error
from concept_distill.models import ChatRole
from concept_distill.records import Example, ExampleResult
from concept_distill.tasks.base import Task

__all__ = ["MAX_WORDS", "ChatTeacher", "Induction", "ProposedRule", "TeacherReply"]

_REPLY_CHARS = 1500
_CALCULATOR_NOTE = re.compile(r"<<[^<>]*>>")  # GSM8K's "<<48/2=24>>" annotations


class ProposedRule(BaseModel):
    """One rule as the teacher writes it."""

    rule: str = Field(description="One short, general rule: 'When <situation>, <do this>.'")
    example: str | None = Field(
        None,
        description=(
            "Rule form `illustrated`: a one-line worked illustration on a problem the teacher "
            "made up (never a data set item); None for a bare rule."
        ),
    )
    mistakes: list[int] = Field(
        default_factory=list, description="Numbers of the mistakes this rule would have prevented."
    )

    def student_text(self) -> str:
        """What the student's prompt gets: the rule, then its illustration when there is one."""
        rule = " ".join(self.rule.split())
        example = " ".join((self.example or "").split())
        return f"{rule} {ILLUSTRATION_PREFIX}{example}" if example else rule


class TeacherReply(BaseModel):
    """The teacher's structured answer."""

    diagnosis: str = Field(description="Why the student failed: the first wrong step, in brief.")
    rules: list[ProposedRule] = Field(description="At most the requested number of rules.")


class Induction(BaseModel):
    """What came of one batch: a reply, or a recorded failure (never accepted as rules).

    With several samples, `reply` merges the samples that answered (their distinct rules, their
    diagnoses one per line) and `failure` says why the others did not, if any failed.
    """

    reply: TeacherReply | None = None
    failure: str = ""
    prompt_chars: int = 0
    samples: int = Field(1, description="Teacher samples asked for this batch.")


class ChatTeacher:
    """Turns mistakes into candidate rules through the model layer (structured output)."""

    def __init__(
        self,
        model: ChatRole,
        task: Task,
        *,
        max_rules: int = 3,
        rule_form: RuleForm = "bare",
        chars_per_token: float = 3.0,
    ) -> None:
        self.model = model
        self.task = task
        self.max_rules = max_rules
        self.rule_form: RuleForm = rule_form
        self.chars_per_token = chars_per_token

    def messages(
        self, prompt: str, mistakes: list[tuple[Example, ExampleResult]]
    ) -> list[dict[str, str]]:
        """The teacher's chat for one batch."""
        shown = "\n".join(
            TEMPLATES["teacher_mistake"].format(
                number=number,
                question=self.task.render(example).strip(),
                reply=_clip(result.attempt.reply),
                reason=result.judgement.reason or result.judgement.outcome,
                reference=reference(example),
            )
            for number, (example, result) in enumerate(mistakes, start=1)
        )
        form, schema = RULE_FORMS[self.rule_form]
        system = TEMPLATES["teacher_system"].format(
            max_rules=self.max_rules, max_words=MAX_WORDS, rule_form=form, rule_schema=schema
        )
        user = TEMPLATES["teacher_user"].format(
            task_description=self.task.description, prompt=prompt, mistakes=shown
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def prompt_tokens(self, prompt: str, mistakes: list[tuple[Example, ExampleResult]]) -> int:
        """Estimated tokens of the teacher's prompt for this batch (`estimate_tokens`)."""
        messages = self.messages(prompt, mistakes)
        return sum(estimate_tokens(m["content"], self.chars_per_token) for m in messages)

    async def induce(
        self,
        prompt: str,
        mistakes: list[tuple[Example, ExampleResult]],
        *,
        samples: int = 1,
        config: RunnableConfig | None = None,
    ) -> Induction:
        """Ask for a diagnosis and rules; malformed output or a failed call is recorded.

        With `samples` > 1 the teacher is asked that many times (sample indices 0..samples-1, so
        distinct seeds when its temperature is above 0) and the distinct rules of all the samples
        that answered are kept, in sample order.
        """
        if samples < 1:
            raise ValueError("samples must be at least 1")
        messages = self.messages(prompt, mistakes)
        size = sum(len(message["content"]) for message in messages)
        results = await self._ask_samples(messages, samples, config)
        replies = [result for result in results if isinstance(result, TeacherReply)]
        failures = [result for result in results if isinstance(result, str)]
        failure = "; ".join(failures)
        if failures and samples > 1:
            failure = f"{len(failures)} of {samples} teacher samples failed: {failure}"
        if not replies:
            return Induction(failure=failure[:1000], prompt_chars=size, samples=samples)
        return Induction(
            reply=merge_replies(replies), failure=failure[:1000], prompt_chars=size, samples=samples
        )

    async def _ask(
        self, messages: list[dict[str, str]], sample_index: int, config: RunnableConfig | None
    ) -> TeacherReply | str:
        """One sample: the reply, capped at `max_rules` rules, or why there is none."""
        try:
            result = await self.model.structured(
                messages, TeacherReply, sample_index=sample_index, config=config
            )
        except ModelError as error:
            return f"teacher call failed: {error}"
        if result.value is None:
            errors = "; ".join(result.failure.errors) if result.failure else "no reply"
            return f"malformed teacher output: {errors}"
        rules = result.value.rules[: self.max_rules]
        if self.rule_form == "bare":
            rules = [rule.model_copy(update={"example": None}) for rule in rules]
        return result.value.model_copy(update={"rules": rules})

    def tips_messages(self, prompt: str) -> list[dict[str, str]]:
        """The chat asking for general rules with no mistakes shown (the study's tips baseline)."""
        form, schema = RULE_FORMS[self.rule_form]
        system = TEMPLATES["teacher_system"].format(
            max_rules=self.max_rules, max_words=MAX_WORDS, rule_form=form, rule_schema=schema
        )
        user = TEMPLATES["teacher_tips_user"].format(
            task_description=self.task.description, prompt=prompt
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    async def tips(
        self, prompt: str, samples: int, *, config: RunnableConfig | None = None
    ) -> list[list[str] | str]:
        """`samples` sets of general rules (distinct seeds), each its rules or why there is none.

        The sets are kept apart, unlike `induce`'s merged samples: each is one candidate prompt.
        """
        results: list[list[str] | str] = []
        for reply in await self._ask_samples(self.tips_messages(prompt), samples, config):
            if isinstance(reply, str):
                results.append(reply)
            else:
                texts = [rule.student_text() for rule in reply.rules]
                results.append([texts[kept] for kept in distinct_rules(texts)])
        return results

    async def _ask_samples(
        self, messages: list[dict[str, str]], samples: int, config: RunnableConfig | None
    ) -> list[TeacherReply | str]:
        """`samples` concurrent samples (indices 0..samples-1), in sample order."""
        results: list[TeacherReply | str] = [""] * samples

        async def ask(index: int) -> None:
            results[index] = await self._ask(messages, index, config)

        try:
            async with anyio.create_task_group() as group:
                for index in range(samples):
                    group.start_soon(ask, index)
        except BaseExceptionGroup as group_error:
            raise single_error(group_error) from None
        return results

    def solve_messages(self, example: Example) -> list[dict[str, str]]:
        """The chat in which the teacher solves a problem itself, as the student sees it."""
        system = TEMPLATES["teacher_solve_system"].format(task_description=self.task.description)
        return [
            {"role": "system", "content": system},
            {"role": "user", "content": self.task.render(example)},
        ]

    async def solve(self, example: Example, *, config: RunnableConfig | None = None) -> str | None:
        """The teacher's own reply to the problem (a plain completion); None when the call failed.

        Judge it with `agents.solvable.solved_mistakes` before showing the teacher the mistake.
        """
        try:
            reply = await self.model.complete(self.solve_messages(example), config=config)
        except ModelError:
            return None
        return reply.text

    async def solve_all(
        self, examples: Sequence[Example], *, config: RunnableConfig | None = None
    ) -> dict[str, str | None]:
        """`solve` for each example, concurrently (the model layer limits the requests)."""
        solutions: dict[str, str | None] = {}

        async def one(example: Example) -> None:
            solutions[example.id] = await self.solve(example, config=config)

        try:
            async with anyio.create_task_group() as group:
                for example in examples:
                    group.start_soon(one, example)
        except BaseExceptionGroup as group_error:
            raise single_error(group_error) from None
        return {example.id: solutions[example.id] for example in examples}


def merge_replies(replies: Sequence[TeacherReply]) -> TeacherReply:
    """One reply from several samples: their distinct rules in order, their distinct diagnoses."""
    rules = [rule for reply in replies for rule in reply.rules]
    kept = distinct_rules([rule.rule for rule in rules])
    diagnoses = list(dict.fromkeys(r.diagnosis.strip() for r in replies if r.diagnosis.strip()))
    return TeacherReply(diagnosis="\n".join(diagnoses), rules=[rules[index] for index in kept])


def reference(example: Example) -> str:
    """The reference the teacher sees: the answer, and the worked solution when the data has one.

    GSM8K's solution loses its calculator annotations ("<<48/2=24>>"), which only repeat the line.
    """
    solution = str(example.meta.get("solution") or "").strip()
    if not solution:
        return _clip(example.answer)
    return TEMPLATES["teacher_reference_with_solution"].format(
        answer=_clip(example.answer), solution=_clip(_CALCULATOR_NOTE.sub("", solution))
    )


def _clip(text: str) -> str:
    return text if len(text) <= _REPLY_CHARS else text[:_REPLY_CHARS] + "\n[...]"
