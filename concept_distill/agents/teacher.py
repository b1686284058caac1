"""The teacher: reads a batch of the student's mistakes, diagnoses them and proposes rules."""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, Field

from concept_distill.agents.prompts import TEMPLATES
from concept_distill.errors import ModelError
from concept_distill.models import ChatRole
from concept_distill.records import Example, ExampleResult
from concept_distill.tasks.base import Task

MAX_WORDS = 40
_REPLY_CHARS = 1500


class ProposedRule(BaseModel):
    """One rule as the teacher writes it."""

    rule: str = Field(description="One short, general rule: 'When <situation>, <do this>.'")
    mistakes: list[int] = Field(
        default_factory=list, description="Numbers of the mistakes this rule would have prevented."
    )


class TeacherReply(BaseModel):
    """The teacher's structured answer."""

    diagnosis: str = Field(description="Why the student failed: the first wrong step, in brief.")
    rules: list[ProposedRule] = Field(description="At most the requested number of rules.")


class Induction(BaseModel):
    """What came of one batch: a reply, or a recorded failure (never accepted as rules)."""

    reply: TeacherReply | None = None
    failure: str = ""
    prompt_chars: int = 0


class Teacher:
    """Turns mistakes into candidate rules through the model layer (structured output)."""

    def __init__(self, model: ChatRole, task: Task, *, max_rules: int = 3) -> None:
        self.model = model
        self.task = task
        self.max_rules = max_rules

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
                reference=_clip(example.answer),
            )
            for number, (example, result) in enumerate(mistakes, start=1)
        )
        system = TEMPLATES["teacher_system"].format(max_rules=self.max_rules, max_words=MAX_WORDS)
        user = TEMPLATES["teacher_user"].format(
            task_description=self.task.description, prompt=prompt, mistakes=shown
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    async def induce(
        self,
        prompt: str,
        mistakes: list[tuple[Example, ExampleResult]],
        *,
        config: RunnableConfig | None = None,
    ) -> Induction:
        """Ask for a diagnosis and rules; malformed output or a failed call is recorded."""
        messages = self.messages(prompt, mistakes)
        size = sum(len(message["content"]) for message in messages)
        try:
            result = await self.model.structured(messages, TeacherReply, config=config)
        except ModelError as error:
            return Induction(failure=f"teacher call failed: {error}", prompt_chars=size)
        if result.value is None:
            errors = "; ".join(result.failure.errors) if result.failure else "no reply"
            return Induction(
                failure=f"malformed teacher output: {errors}"[:1000], prompt_chars=size
            )
        reply = result.value.model_copy(update={"rules": result.value.rules[: self.max_rules]})
        return Induction(reply=reply, prompt_chars=size)


def _clip(text: str) -> str:
    return text if len(text) <= _REPLY_CHARS else text[:_REPLY_CHARS] + "\n[...]"
