"""The events a run streams (LangGraph `custom` stream mode) and writes to run.log.

Each is a pydantic record with an `event` tag; on the stream it travels as its JSON form (a dict),
so LangGraph Server and Studio pass it through unchanged. `parse_event` turns a dict back into
its record. `distill(on_event=...)` receives the records themselves.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)


class PhaseEvent(_Event):
    """A phase began: prepare, initialize, select, induce, validate, update, audit, test, done."""

    event: Literal["phase"] = "phase"
    phase: str
    run_dir: str | None = Field(None, description="Set on `prepare` and `done`.")
    report: str | None = Field(None, description="The report's path, set on `done`.")
    student_calls_at_most: int | None = Field(
        None, description="Set on `prepare`: the run's student calls at most (`--dry-run`'s bound)."
    )


class ProgressEvent(_Event):
    """One more example of an evaluation answered and judged."""

    event: Literal["example"] = "example"
    label: str = Field(description="The evaluation, e.g. initial-train, validate-r1-0-1-0.")
    done: int
    total: int
    cached: bool = Field(
        False,
        description="The reply came from the response cache and took no model time; paces and "
        "time-left estimates count only the other replies.",
    )


class RuleProposedEvent(_Event):
    """The teacher proposed a rule; `status` says whether a filter already refused it."""

    event: Literal["rule_proposed"] = "rule_proposed"
    rule_id: str
    text: str
    status: str
    reason: str = ""


class RuleDecidedEvent(_Event):
    """Validation decided on a rule: accepted, rejected or pruned, with its evidence."""

    event: Literal["rule_decided"] = "rule_decided"
    rule_id: str
    text: str
    status: str
    validation_delta: float | None = None
    p_value: float | None = None
    fixed: int = 0
    broken: int = 0
    reason: str = ""


class IterationEvent(_Event):
    """A round ended: the incumbent prompt's validation accuracy and its rule count."""

    event: Literal["iteration"] = "iteration"
    iteration: int
    validation_accuracy: float
    rules: int
    accepted_this_round: int = 0


Event = Annotated[
    PhaseEvent | ProgressEvent | RuleProposedEvent | RuleDecidedEvent | IterationEvent,
    Field(discriminator="event"),
]
"""Any event a run emits."""

_EVENTS: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: object) -> Event:
    """The record for an event's JSON form (a dict from the stream or a run.log line)."""
    return _EVENTS.validate_python(data)
