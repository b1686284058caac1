"""Role models for graph tests: a LangChain chat model that follows the helpful rule, and a
scripted teacher model that proposes the same rules on every call."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from concept_distill.testing import ScriptedChatModel
from support.fakes import HELPFUL, answer_with_rule


class RuleFollowingChatModel(BaseChatModel):
    """A LangChain chat model (no HTTP): `answer_with_rule`, with or without usage metadata."""

    report_usage: bool = True
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "rule-following-fake"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: Any = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls += 1
        system = str(messages[0].content) if messages[0].type == "system" else ""
        text = answer_with_rule(system, str(messages[-1].content))
        usage = (
            {"input_tokens": 50, "output_tokens": 5, "total_tokens": 55}
            if self.report_usage
            else None
        )
        message = AIMessage(content=text, usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])


def proposing_teacher(*rules: str) -> ScriptedChatModel:
    """A teacher model that proposes `rules` (HELPFUL by default) on every call."""
    reply = json.dumps(
        {"diagnosis": "No final number.",
         "rules": [{"rule": text, "mistakes": [1]} for text in rules or (HELPFUL,)]}
    )  # fmt: skip
    return ScriptedChatModel(role="teacher", reply=lambda _messages: reply)


def student_model() -> ScriptedChatModel:
    """The rule-following student as a `ChatRole`."""

    def reply(messages: list[Any]) -> str:
        system = str(messages[0]["content"]) if messages[0]["role"] == "system" else ""
        return answer_with_rule(system, str(messages[-1]["content"]))

    return ScriptedChatModel(role="student", reply=reply)
