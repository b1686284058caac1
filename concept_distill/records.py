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
    finish_reason: str | None = Field(
        None, description="Why generation stopped; `length`: cut at max_tokens (still judged)."
    )
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
    "proposed",
    "accepted",
    "rejected",
    "leak",
    "generic",
    "too_long",
    "duplicate",
    "malformed",
    "pruned",
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
    accepted_order: int | None = Field(
        None, description="Position in the optimized prompt (0 first), for accepted rules."
    )
    evidence: dict[str, Any] = Field(
        default_factory=dict,
        description="The acceptance policy's record: examples used, statistic, why it stopped.",
    )


class IterationRecord(BaseModel):
    """One point of the accuracy-per-iteration history."""

    model_config = ConfigDict(frozen=True)

    iteration: int
    validation_accuracy: float = Field(description="The incumbent prompt's validation accuracy.")
    rules: int = Field(description="Rules in the incumbent prompt.")
    accepted_this_round: int = 0


class RunMetrics(BaseModel):
    """What a run measured; `metrics.json` is its JSON form. Fields are None until measured."""

    model_config = ConfigDict(frozen=True)

    train_accuracy_base: float | None = None
    validation_accuracy_base: float | None = None
    test_accuracy_base: float | None = None
    test_accuracy_final: float | None = None
    test_ci_base: tuple[float, float] | None = None
    test_ci_final: tuple[float, float] | None = None
    test_examples: int | None = None
    test_unjudged: int | None = None
    test_difference: float | None = Field(None, description="Final minus base, paired.")
    test_difference_ci: tuple[float, float] | None = None
    test_p_two_sided: float | None = Field(None, description="Exact McNemar, two-sided.")
    test_fixed: int | None = None
    test_broken: int | None = None
    rules_proposed: int = 0
    rules_accepted: int = 0
    rules_pruned: int = 0
    iterations: int = 0
    stop_reason: str = ""
    spend: dict[str, Any] | None = Field(None, description="spend.json: spend by role.")
    elapsed_s: float | None = Field(None, description="Running time over every process.")
    cut_share: dict[str, float] = Field(
        default_factory=dict,
        description="Share of replies cut at max_tokens, by evaluation (initial, test).",
    )
