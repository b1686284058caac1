"""Acceptance policies: is a candidate rule's validation result good enough to keep it?

A policy sees the paired comparison of (prompt + rule) against the current prompt on the same
validation examples, and how many candidates were tried in the round (for a multiple-testing
correction). It is a Protocol, so users can plug in their own.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from concept_distill.loop.stats import PairedComparison


class Decision(BaseModel):
    """Accepted or not, and why in one line."""

    model_config = ConfigDict(frozen=True)

    accepted: bool
    reason: str


class AcceptancePolicy(Protocol):
    """Decides on one candidate from its paired comparison."""

    def decide(self, comparison: PairedComparison, *, candidates: int) -> Decision:
        """Accept when the comparison supports the rule."""
        ...


class ThresholdPolicy:
    """The paper's rule: validation accuracy went up (by more than `min_delta`)."""

    def __init__(self, min_delta: float = 0.0) -> None:
        self.min_delta = min_delta

    def decide(self, comparison: PairedComparison, *, candidates: int) -> Decision:
        """Accept any improvement above the threshold."""
        delta = comparison.difference
        if delta > self.min_delta:
            return Decision(accepted=True, reason=f"validation accuracy {delta:+.3f}")
        return Decision(
            accepted=False,
            reason=f"validation accuracy {delta:+.3f}, not above {self.min_delta:+.3f}",
        )


class PairedTestPolicy:
    """Accept only a statistically supported improvement.

    One-sided exact test on the discordant pairs (fixed vs broken), at level `alpha` divided by
    the number of candidates tried in the round (Bonferroni), and a positive difference.
    """

    def __init__(self, alpha: float = 0.1, *, correct_for_candidates: bool = True) -> None:
        self.alpha = alpha
        self.correct_for_candidates = correct_for_candidates

    def decide(self, comparison: PairedComparison, *, candidates: int) -> Decision:
        """Accept when p < alpha (corrected) and the rule fixed more than it broke."""
        level = self.alpha / max(1, candidates) if self.correct_for_candidates else self.alpha
        summary = (
            f"fixed {comparison.fixed}, broke {comparison.broken}, "
            f"p={comparison.p_better:.3g} vs level {level:.3g}"
        )
        if comparison.fixed > comparison.broken and comparison.p_better < level:
            return Decision(accepted=True, reason=summary)
        return Decision(accepted=False, reason=summary)


class AcceptanceConfig(BaseModel):
    """Which policy decides, with its parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: Literal["paired_test", "threshold"] = Field(
        "paired_test",
        description="paired_test: exact test on discordant pairs; threshold: any gain.",
    )
    alpha: float = Field(0.1, gt=0, lt=1, description="paired_test: significance level.")
    correct_for_candidates: bool = Field(
        True, description="paired_test: divide alpha by the number of candidates in the round."
    )
    min_delta: float = Field(0.0, ge=0, description="threshold: the gain must exceed this.")

    def build(self) -> AcceptancePolicy:
        """The configured policy."""
        if self.policy == "threshold":
            return ThresholdPolicy(self.min_delta)
        return PairedTestPolicy(self.alpha, correct_for_candidates=self.correct_for_candidates)
