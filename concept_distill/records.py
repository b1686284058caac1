"""The records that cross boundaries: examples, the student's attempts and how they were judged.

Frozen pydantic models, so they can be saved as JSON lines, checkpointed, and compared.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from concept_distill.sandbox.verdict import Verdict

Outcome = Literal["correct", "wrong", "unjudged"]


class Example(BaseModel):
    """One task item: what the student sees, and what judges the answer."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Stable id within the data set (used by splits and results).")
    question: str = Field(description="The problem as the student sees it.")
    answer: str = Field(description="The reference answer (gold number, canonical solution, ...).")
    tests: str = Field("", description="Test code for code tasks (HumanEval check, asserts).")
    entry_point: str | None = Field(None, description="The function the tests call, if any.")
    trusted_code: str = Field(
        "", description="Code the tests use that the student cannot change (prompt helpers)."
    )
    meta: dict[str, Any] = Field(default_factory=dict, description="Anything else from the data.")


class Attempt(BaseModel):
    """The student's reply to one example under one prompt."""

    model_config = ConfigDict(frozen=True)

    example_id: str
    reply: str = Field(description="The raw reply text.")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    error: str | None = Field(None, description="Set when the model call failed after retries.")


class Judgement(BaseModel):
    """How an attempt was judged: `unjudged` (system trouble) is kept apart from `wrong`."""

    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    reason: str = Field("", description="Why, in words a teacher model can use.")
    extracted: str | None = Field(None, description="The answer found in the reply, if any.")
    verdict: Verdict | None = Field(None, description="The sandbox verdict, for code tasks.")

    @property
    def correct(self) -> bool:
        """True only for `correct`."""
        return self.outcome == "correct"


class ExampleResult(BaseModel):
    """One row of an evaluation: the example id, the attempt and its judgement."""

    model_config = ConfigDict(frozen=True)

    example_id: str
    attempt: Attempt
    judgement: Judgement


RuleStatus = Literal[
    "proposed", "accepted", "rejected", "leak", "generic", "too_long", "duplicate", "malformed"
]


class Rule(BaseModel):
    """A candidate rule ("concept") with where it came from and what validation said of it."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Stable id: r<iteration>-<batch>-<n>.")
    text: str
    iteration: int
    source_mistakes: list[str] = Field(default_factory=list, description="Train ids it explains.")
    diagnosis: str = Field("", description="The teacher's account of why the student failed.")
    status: RuleStatus = "proposed"
    reason: str = Field("", description="Why it was accepted or rejected.")
    validation_accuracy: float | None = None
    validation_delta: float | None = Field(None, description="Accuracy change vs the prompt.")
    p_value: float | None = Field(None, description="One-sided exact test on discordant pairs.")
    fixed: list[str] = Field(default_factory=list, description="Validation ids it fixed.")
    broken: list[str] = Field(default_factory=list, description="Validation ids it broke.")
