"""Acceptance policies: does a candidate rule beat the prompt it would join?

A policy judges a candidate from its paired tally against the incumbent prompt on the same
validation examples, taken in one fixed order. Every policy works through the same sequential
contract (`AcceptancePolicy.test` gives one `CandidateTest` per candidate and race; the round
function `loop.rounds.run_round` shows it each complete chunk), so the graph has one code path:
`threshold` and `paired_test` look once, at the end of the split; `racing` (`loop.racing`) looks
after every chunk and stops early. They are Protocols, so users can plug in their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from concept_distill.loop.stats import PairedComparison, comparison_from_counts

StopReason = Literal["accepted", "futility", "not_better", "end_of_split", "budget"]
"""Why a candidate's race ended: accepted; dropped because it can no longer reach acceptance
(`futility`) or because the evidence says it is not better (`not_better`); still undecided at
the end of the split (`end_of_split`, a rejection); or the budget ran out (`budget`)."""


class Decision(BaseModel):
    """Accepted or not, and why in one line."""

    model_config = ConfigDict(frozen=True)

    accepted: bool
    reason: str


@dataclass(frozen=True)
class Tally:
    """A candidate's paired counts against the incumbent after a complete chunk.

    `seen` counts the examples of the order consumed so far; `examples` the ones both sides
    judged (unjudged examples are left out of the pairs).
    """

    seen: int
    examples: int
    base_correct: int
    new_correct: int
    fixed: int
    broken: int

    def comparison(self) -> PairedComparison:
        """The full paired comparison (exact test and Newcombe interval) of these counts."""
        return comparison_from_counts(
            self.examples, self.base_correct, self.new_correct, self.fixed, self.broken
        )


@dataclass(frozen=True)
class Verdict:
    """A sequential test's answer at one look; `stop=None` means go on."""

    stop: StopReason | None
    statistic: float
    """The test's statistic at this look (racing: exact one-sided p of the fixes; others: p or
    the accuracy change)."""
    reason: str
    boundary: int | None = None
    """Fixes needed for acceptance at this look, when the test has such a boundary."""


@dataclass(frozen=True)
class RaceContext:
    """Where a candidate's test runs: race `race` (1-based) of a round."""

    race: int
    candidates: int
    """Candidates in this race (the Bonferroni divisor of sequential policies)."""
    round_candidates: int
    """Candidates the round started with (what `paired_test` divides by, as before races)."""
    split_size: int


class CandidateTest(Protocol):
    """One candidate's test within one race; stateful, fed complete chunks in order."""

    def look(self, tally: Tally) -> Verdict:
        """Decide after a complete chunk; at `tally.seen == split_size` it must stop."""
        ...


class AcceptancePolicy(Protocol):
    """Decides on candidates; `test` is the round function's entry point."""

    chunk_size: int | None
    """Examples per look; None looks once, on the whole split."""

    def test(self, context: RaceContext) -> CandidateTest:
        """A fresh test for one candidate in one race."""
        ...

    def decide(self, comparison: PairedComparison, *, candidates: int) -> Decision:
        """One decision on a whole-split comparison (the pre-race entry point)."""
        ...


class _OneLook:
    """A whole-split test: go on until the end of the split, then one `decide`."""

    def __init__(self, policy: AcceptancePolicy, context: RaceContext) -> None:
        self.policy = policy
        self.context = context

    def look(self, tally: Tally) -> Verdict:
        if tally.seen < self.context.split_size:
            return Verdict(None, 1.0, "before the end of the split")
        comparison = tally.comparison()
        decision = self.policy.decide(comparison, candidates=self.context.round_candidates)
        stop: StopReason = "accepted" if decision.accepted else "end_of_split"
        return Verdict(stop, comparison.p_better, decision.reason)


class ThresholdPolicy:
    """The paper's rule: validation accuracy went up (by more than `min_delta`)."""

    chunk_size: int | None = None

    def __init__(self, min_delta: float = 0.0) -> None:
        self.min_delta = min_delta

    def test(self, context: RaceContext) -> CandidateTest:
        """One look at the end of the split."""
        return _OneLook(self, context)

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
    the number of candidates tried in the round (Bonferroni), and a positive difference. The
    re-checks after an acceptance test again at the same level, so its per-round error is not
    bounded by `alpha` when several candidates pass; `racing` is.
    """

    chunk_size: int | None = None

    def __init__(self, alpha: float = 0.1, *, correct_for_candidates: bool = True) -> None:
        self.alpha = alpha
        self.correct_for_candidates = correct_for_candidates

    def test(self, context: RaceContext) -> CandidateTest:
        """One look at the end of the split."""
        return _OneLook(self, context)

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

    policy: Literal["racing", "paired_test", "threshold"] = Field(
        "racing",
        description=(
            "racing: all candidates of a round evaluated together in chunks, each stopped as "
            "soon as a sequential exact test decides (at most alpha false acceptances per "
            "round); paired_test: exact test on the discordant pairs of the whole split; "
            "threshold: any gain (the paper's rule)."
        ),
    )
    alpha: float = Field(
        0.1,
        gt=0,
        lt=1,
        description=(
            "racing: probability per round of accepting any rule that is not better than its "
            "incumbent; paired_test: significance level per round before re-checks."
        ),
    )
    correct_for_candidates: bool = Field(
        True, description="paired_test: divide alpha by the number of candidates in the round."
    )
    min_delta: float = Field(0.0, ge=0, description="threshold: the gain must exceed this.")
    chunk_size: int = Field(
        5, ge=1, description="racing: validation examples per look of the sequential test."
    )
    seed: int = Field(
        0, description="racing: seed of the one fixed order in which validation examples are used."
    )
    first_race_share: float = Field(
        0.95,
        gt=0,
        le=1,
        description=(
            "racing: share of alpha the round's first race spends; race r >= 2 (a re-race "
            "against the new incumbent) spends (1 - share) * 2^-(r-1) of it."
        ),
    )
    spending_power: float = Field(
        5.0,
        gt=0,
        description=(
            "racing: a race may have spent level * (examples seen / split)^power by each look; "
            "higher keeps more of alpha for the end of the split."
        ),
    )
    min_effect: float = Field(
        0.055,
        ge=0,
        description=(
            "racing: smallest accuracy gain worth having; a candidate whose optimistic estimate "
            "falls below it is dropped as not better (a binding rule: the test counts on it)."
        ),
    )
    futility_z: float = Field(
        1.0,
        ge=0,
        description=(
            "racing: how optimistic that estimate is (net fixes per example plus this many "
            "standard errors); higher drops later."
        ),
    )
    min_examples: int = Field(
        20,
        ge=0,
        description="racing: examples seen before a candidate can be dropped as not better.",
    )

    def build(self) -> AcceptancePolicy:
        """The configured policy."""
        if self.policy == "threshold":
            return ThresholdPolicy(self.min_delta)
        if self.policy == "paired_test":
            return PairedTestPolicy(self.alpha, correct_for_candidates=self.correct_for_candidates)
        from concept_distill.loop.racing import RacingPolicy  # racing builds on this module

        return RacingPolicy(
            self.alpha,
            chunk_size=self.chunk_size,
            first_race_share=self.first_race_share,
            spending_power=self.spending_power,
            min_effect=self.min_effect,
            futility_z=self.futility_z,
            min_examples=self.min_examples,
        )
