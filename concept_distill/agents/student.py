"""The student: answers one example under a system prompt, through the model layer."""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig

from concept_distill.agents.student_prompt import StudentPrompt, as_student_prompt
from concept_distill.errors import ModelError
from concept_distill.models import ChatRole
from concept_distill.records import Attempt, Example
from concept_distill.tasks.base import Task


class ChatStudent:
    """A pure async function of (prompt, example) -> Attempt; a failed call is a recorded Attempt.

    The model layer does the limiting, retrying, caching and counting.
    """

    def __init__(self, model: ChatRole, task: Task) -> None:
        self.model = model
        self.task = task

    def messages(self, prompt: StudentPrompt | str, example: Example) -> list[dict[str, str]]:
        """The chat the student sees: the system message (if any), then the problem.

        The rules go where the prompt places them; a plain string is a system prompt.
        """
        return as_student_prompt(prompt).messages(self.task.render(example))

    async def answer(
        self, prompt: StudentPrompt | str, example: Example, *, config: RunnableConfig | None = None
    ) -> Attempt:
        """The student's reply; a model failure after retries becomes `Attempt.error`."""
        try:
            reply = await self.model.complete(self.messages(prompt, example), config=config)
        except ModelError as error:
            return Attempt(example_id=example.id, reply="", error=str(error))
        return Attempt(
            example_id=example.id,
            reply=reply.text,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            cached=reply.cached,
            finish_reason=reply.finish_reason,
        )
