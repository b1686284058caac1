"""What a role model returns: a chat reply, or a structured result that may be a recorded failure.

A malformed structured reply is data about the model (the teacher could not follow the schema),
not a broken system, so `structured()` returns a `StructuredResult` carrying the failure and the raw
replies rather than raising.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

SchemaT = TypeVar("SchemaT", bound=BaseModel)


class ChatReply(BaseModel):
    """One model reply with the usage it cost (or, when `cached`, the usage it originally cost)."""

    model_config = ConfigDict(frozen=True)

    role: str = Field(description="The role that asked (student, teacher, ...).")
    text: str = Field(description="The assistant message text.")
    prompt_tokens: int = Field(default=0, description="Prompt tokens reported by the endpoint.")
    completion_tokens: int = Field(default=0, description="Completion tokens reported.")
    finish_reason: str | None = Field(default=None, description="Why generation stopped.")
    cached: bool = Field(default=False, description="True when served from the response cache.")
    seconds: float = Field(default=0.0, description="Time the call took, retries included.")
    retries: int = Field(default=0, description="Extra HTTP attempts this reply took.")
    usage_known: bool = Field(
        default=True, description="False when the model reported no token usage (counted as 0)."
    )


class StructuredFailure(BaseModel):
    """A structured request whose replies never validated, kept as evidence."""

    model_config = ConfigDict(frozen=True)

    schema_name: str = Field(description="Name of the pydantic schema that was asked for.")
    errors: tuple[str, ...] = Field(description="Why each reply was rejected, in order.")
    raw_replies: tuple[str, ...] = Field(description="The rejected reply texts, in order.")


class StructuredResult(BaseModel, Generic[SchemaT]):
    """The outcome of `structured()`: a validated value, or a failure; never both."""

    model_config = ConfigDict(frozen=True)

    value: SchemaT | None = Field(default=None, description="The validated object, if any.")
    failure: StructuredFailure | None = Field(
        default=None, description="Set when no reply validated, even after the repair retry."
    )
    replies: tuple[ChatReply, ...] = Field(
        default=(), description="Every reply used: the first, and the repair reply if any."
    )

    @property
    def ok(self) -> bool:
        """True when a reply validated."""
        return self.value is not None

    @property
    def repaired(self) -> bool:
        """True when the first reply failed and the repair reply validated."""
        return self.ok and len(self.replies) > 1
