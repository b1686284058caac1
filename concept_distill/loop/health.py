"""The evaluation's circuit breaker: too many unjudged examples mean a broken system, not data.

A few `unjudged` examples (a model call that failed after retries, a sandbox that could not run)
are left out of accuracy and the run goes on. When a large share of them is unjudged, an accuracy
on the rest would be measured on whatever happened to work; the run stops instead (exit 1).
Wrong answers never count here: they are judged.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from concept_distill.errors import SystemFailure


class FailureLimits(BaseModel):
    """When failures stop a run as a system failure (exit 1) instead of being recorded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_unjudged_share: float = Field(
        0.2,
        ge=0,
        le=1,
        description=(
            "Stop when more than this share of an evaluation's finished examples are unjudged "
            "(model or sandbox failure); 1 never stops."
        ),
    )
    min_examples: int = Field(
        20,
        ge=1,
        description="Finished examples an evaluation needs before the share is checked.",
    )


def check_unjudged(unjudged: int, finished: int, limits: FailureLimits, *, label: str) -> None:
    """Raise `SystemFailure` when `unjudged` of `finished` examples is over the limit.

    Args:
        unjudged: finished examples that could not be judged.
        finished: examples finished so far.
        limits: the thresholds.
        label: which evaluation, named in the error ("validation", "eval", ...).
    """
    if finished < limits.min_examples or unjudged <= limits.max_unjudged_share * finished:
        return
    raise SystemFailure(
        f"{label}: {unjudged} of {finished} examples so far could not be judged "
        f"(over max_unjudged_share={limits.max_unjudged_share:g}); stopping the run: "
        "see run.log and the examples' errors for the cause"
    )
