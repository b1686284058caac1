"""The racing test's decisions on hand-made sequences, its boundary, and its error by simulation."""

from __future__ import annotations

import math
import random
from fractions import Fraction
from typing import Any

import pytest

from concept_distill.loop.acceptance import AcceptanceConfig, RaceContext, Tally
from concept_distill.loop.racing import RacingPolicy, RacingTest, SpendingBoundary, race_level


def _test(split: int, *, alpha: float = 0.1, candidates: int = 1, **kw: Any) -> RacingTest:
    policy = RacingPolicy(alpha, **kw)
    test = policy.test(RaceContext(1, candidates, candidates, split))
    assert isinstance(test, RacingTest)
    return test


def _feed(test: RacingTest, outcomes: str, chunk: int) -> tuple[str | None, int]:
    """Outcomes per example: f fixed, b broken, = same; returns (stop, examples seen)."""
    fixed = broken = 0
    for seen in range(chunk, len(outcomes) + chunk, chunk):
        seen = min(seen, len(outcomes))
        window = outcomes[:seen]
        fixed, broken = window.count("f"), window.count("b")
        verdict = test.look(_tally(seen, fixed, broken))
        if verdict.stop is not None:
            return verdict.stop, seen
    return None, len(outcomes)


def _tally(seen: int, fixed: int, broken: int) -> Tally:
    # Base right on the broken ones only, so the counts are consistent: new right on the fixed.
    return Tally(seen, seen, broken, fixed, fixed, broken)


def test_race_levels_sum_to_alpha() -> None:
    assert race_level(0.1, 1, 0.5) == 0.05
    assert race_level(0.1, 2, 0.5) == 0.025  # alpha * 2^-r when the first share is 1/2
    assert race_level(0.1, 3, 0.5) == 0.0125
    assert sum(race_level(0.1, r, 0.95) for r in range(1, 60)) < Fraction(0.1)  # exactly
    with pytest.raises(ValueError):
        race_level(0.1, 0, 0.5)


def test_single_look_boundary_is_the_exact_critical_value() -> None:
    # One look at the end spends the whole level: P(Bin(22, 1/2) >= 17) = 0.0085 > 1/160 and
    # P(>= 18) = 0.00217 <= 1/160, so 18 fixes are needed.
    boundary = SpendingBoundary(1 / 160, 150, 5.0)
    assert boundary.look(150, 22) == 18
    assert boundary.spent == Fraction(sum(math.comb(22, i) for i in range(18, 23)), 1 << 22)


def test_boundary_spends_little_early() -> None:
    boundary = SpendingBoundary(0.01, 100, 2.0)
    # At 10 of 100 examples at most 0.01 * 0.01 may be spent: 8 of 8 fixes (1/256) is too likely.
    assert boundary.look(10, 8) == 9
    assert boundary.spent == 0


def test_accepts_a_run_of_fixes() -> None:
    test = _test(100, chunk_size=10)
    stop, seen = _feed(test, "f" * 100, 10)
    # Level 0.095 and t of t examples fixed: 2^-10 = 9.8e-4 > 0.095 * 0.1^5 = 9.5e-7, while
    # 2^-20 = 9.5e-7 <= 0.095 * 0.2^5 = 3.0e-5: accepted at the second look.
    assert (stop, seen) == ("accepted", 20)


def test_drops_a_rule_that_changes_nothing_as_not_better() -> None:
    test = _test(100, chunk_size=10, min_examples=20)
    # 0 - 0 + z * 0 < 0.055 * 20: not better at the first look allowed to drop.
    assert _feed(test, "=" * 100, 10) == ("not_better", 20)


def test_drops_for_futility_when_acceptance_is_out_of_reach() -> None:
    # No not_better drop (min_effect 0, z huge); 4 broken among the first 95 and 5 left: even 5
    # more fixes (5 of 9) cannot make the exact tail small enough.
    test = _test(100, chunk_size=5, min_effect=0.0, futility_z=100.0)
    assert _feed(test, "=" * 91 + "bbbb" + "fffff", 5) == ("futility", 95)


def test_rejects_at_the_end_of_the_split() -> None:
    # Few discordant pairs until the last chunk, then too few fixes to cross.
    test = _test(40, chunk_size=10, min_effect=0.0, futility_z=100.0)
    assert _feed(test, "=" * 30 + "fff=f=b===", 10) == ("end_of_split", 40)


def test_accepts_exactly_at_the_bonferroni_boundary() -> None:
    # alpha 1/8 over 8 candidates, all of it in race 1: level 1/64 = P(6 fixes of 6).
    at = _test(6, alpha=0.125, candidates=8, chunk_size=6, first_race_share=1.0)
    assert at.look(_tally(6, 6, 0)).stop == "accepted"
    below = _test(6, alpha=0.1249, candidates=8, chunk_size=6, first_race_share=1.0)
    assert below.look(_tally(6, 6, 0)).stop == "end_of_split"
    nine = _test(6, alpha=0.125, candidates=9, chunk_size=6, first_race_share=1.0)
    assert nine.look(_tally(6, 6, 0)).stop == "end_of_split"


def test_config_builds_racing_by_default() -> None:
    policy = AcceptanceConfig().build()
    assert isinstance(policy, RacingPolicy)
    assert policy.chunk_size == 5
    assert policy.candidate_level(1, 8) == pytest.approx(0.1 * 0.95 / 8)
    # The pre-race entry point still works: a whole-split exact test at that level.
    from concept_distill.loop.stats import paired_comparison

    assert policy.decide(paired_comparison([False] * 12, [True] * 12), candidates=8).accepted
    assert not policy.decide(paired_comparison([False] * 6, [True] * 6), candidates=8).accepted


def _null_race(rng: random.Random, split: int, chunk: int, fix: float, **kw: Any) -> bool:
    test = _test(split, alpha=0.2, first_race_share=1.0, chunk_size=chunk, **kw)
    fixed = broken = 0
    for start in range(0, split, chunk):
        for _ in range(chunk):
            if rng.random() < 0.4:  # discordant
                if rng.random() < fix:
                    fixed += 1
                else:
                    broken += 1
        verdict = test.look(_tally(start + chunk, fixed, broken))
        if verdict.stop is not None:
            return verdict.stop == "accepted"
    raise AssertionError("a race must stop at the end of the split")


@pytest.mark.parametrize(
    ("fix", "kw"),
    [
        (0.5, {"min_effect": 0.0, "futility_z": 0.0}),  # the worst null, binding drop at 0 gain
        (0.5, {}),  # the default drop rules
        (0.45, {"spending_power": 1.0}),  # a null that favours breaks, early spending
    ],
)
def test_false_accept_rate_of_null_races(fix: float, kw: dict[str, float]) -> None:
    rng = random.Random(11)
    races = 10_000
    accepted = sum(_null_race(rng, 40, 5, fix, **kw) for _ in range(races))
    rate = accepted / races
    level = 0.2  # one candidate, the whole alpha in race 1
    assert rate <= level + 3 * math.sqrt(level * (1 - level) / races)
    assert rate > 0.02  # the test does accept under the null sometimes: the bound is not vacuous
