"""The contract every chat role satisfies: the real `RoleModel` and the fakes in `testing`."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from langchain_core.runnables import RunnableConfig

from concept_distill.models.accounting import Spend
from concept_distill.models.messages import MessagesInput
from concept_distill.models.replies import ChatReply, SchemaT, StructuredResult


@runtime_checkable
class ChatRole(Protocol):
    """A model playing one role: plain completions, schema-checked completions, and its spend.

    `complete` raises `ModelError` only when the endpoint fails; `structured` additionally never
    raises for a malformed reply (it returns a result whose `failure` says what was wrong).
    """

    role: str

    async def complete(
        self,
        messages: MessagesInput,
        *,
        sample_index: int = 0,
        config: RunnableConfig | None = None,
    ) -> ChatReply:
        """One chat completion."""
        ...

    async def structured(
        self,
        messages: MessagesInput,
        schema: type[SchemaT],
        *,
        sample_index: int = 0,
        config: RunnableConfig | None = None,
    ) -> StructuredResult[SchemaT]:
        """A completion validated against `schema`, repaired once or recorded as a failure."""
        ...

    def spend(self) -> Spend:
        """What this role has used so far."""
        ...
