"""`ScriptedChatModel`: a chat role that answers from a script, with no HTTP at all.

For tests of agents and graphs that only need a model to say given things: it satisfies the same
`ChatRole` contract as `RoleModel`, runs the same structured-output validation and repair, and
keeps a spend record (token counts are word counts), so code under test cannot tell it apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig

from concept_distill.models.accounting import Spend, SpendMeter
from concept_distill.models.config import StructuredMode
from concept_distill.models.messages import MessagesInput, WireMessage, to_wire
from concept_distill.models.protocol import ChatRole
from concept_distill.models.replies import ChatReply, SchemaT, StructuredResult
from concept_distill.models.structured import request_structured

ScriptFunction = Callable[[list[WireMessage]], str]
"""Decides a reply from the messages, once the script has run out."""


class ScriptedChatModel:
    """Replies with the scripted texts in order, then with `reply(messages)` (default "ok").

    Every call's messages are kept in `calls`, so tests can assert on prompts.
    """

    def __init__(
        self,
        script: Sequence[str] = (),
        *,
        role: str = "scripted",
        reply: ScriptFunction | None = None,
        structured_mode: StructuredMode = "json_schema",
    ) -> None:
        """Set up the script.

        Args:
            script: reply texts for the first calls, in order.
            role: role name reported in replies and spend.
            reply: decides replies after the script; without it the model says "ok".
            structured_mode: passed to the structured-output layer, as a real config would.
        """
        self.role = role
        self._script = list(script)
        self._reply = reply
        self._mode: StructuredMode = structured_mode
        self._meter = SpendMeter(role, model="scripted")
        self.calls: list[list[WireMessage]] = []
        self.response_formats: list[Mapping[str, Any] | None] = []

    def __repr__(self) -> str:
        return f"ScriptedChatModel(role={self.role!r}, remaining={len(self._script)})"

    def spend(self) -> Spend:
        """What the scripted calls would have cost, in word counts."""
        return self._meter.snapshot()

    async def complete(
        self,
        messages: MessagesInput,
        *,
        sample_index: int = 0,
        config: RunnableConfig | None = None,
    ) -> ChatReply:
        """The next scripted reply."""
        return self._answer(to_wire(messages), None)

    async def structured(
        self,
        messages: MessagesInput,
        schema: type[SchemaT],
        *,
        sample_index: int = 0,
        config: RunnableConfig | None = None,
    ) -> StructuredResult[SchemaT]:
        """Validate the next scripted reply against `schema` (a repair consumes one more)."""

        async def complete(
            wire: list[WireMessage], response_format: Mapping[str, Any] | None
        ) -> ChatReply:
            return self._answer(wire, response_format)

        return await request_structured(complete, to_wire(messages), schema, mode=self._mode)

    def _answer(
        self, wire: list[WireMessage], response_format: Mapping[str, Any] | None
    ) -> ChatReply:
        started = time.monotonic()
        self.calls.append(wire)
        self.response_formats.append(response_format)
        if self._script:
            text = self._script.pop(0)
        else:
            text = self._reply(wire) if self._reply is not None else "ok"
        prompt = sum(len(str(message.get("content", "")).split()) for message in wire)
        completion = len(text.split())
        self._meter.paid(prompt=prompt, completion=completion, started=started, retries=0)
        return ChatReply(
            role=self.role,
            text=text,
            prompt_tokens=prompt,
            completion_tokens=completion,
            finish_reason="stop",
        )


if TYPE_CHECKING:
    _conforms: ChatRole = ScriptedChatModel()
