"""Known values of the intervals and exact tests in `loop.stats`."""

from __future__ import annotations

import pytest

from concept_distill.loop.stats import (
    binomial_tail,
    minimum_detectable_difference,
    newcombe_paired_interval,
    paired_comparison,
    wilson_interval,
)


def test_wilson_zero_of_ten() -> None:
    # z^2/n = 0.38415; centre = 0.19207/1.38415 = 0.13876 = half width, so (0, 0.2775).
    low, high = wilson_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(0.2775, abs=5e-5)


def test_wilson_ends_are_exact() -> None:
    assert wilson_interval(12, 12)[1] == 1.0
    assert wilson_interval(0, 12)[0] == 0.0


def test_mcnemar_six_fixed_none_broken() -> None:
    comparison = paired_comparison([False] * 6, [True] * 6)
    assert comparison.p_better == 1 / 64
    assert comparison.p_two_sided == 2 / 64
    assert binomial_tail(6, 6) == 1 / 64


def test_newcombe_twelve_fixed_none_broken_of_twelve() -> None:
    # Base 0/12, new 12/12. Wilson(12, 12) = (0.75749, 1); Wilson(0, 12) = (0, 0.24251).
    # A margin is empty, so phi = 0: below = sqrt(0.24251^2 + 0.24251^2) = 0.34296, above = 0.
    comparison = paired_comparison([False] * 12, [True] * 12)
    assert comparison.difference == 1.0
    assert comparison.ci_low == pytest.approx(0.65704, abs=5e-5)
    assert comparison.ci_high == 1.0  # Wald gave zero width here


def test_newcombe_no_pairs_is_the_whole_range() -> None:
    comparison = paired_comparison([], [])
    assert (comparison.ci_low, comparison.ci_high) == (-1.0, 1.0)
    assert comparison.p_better == 1.0


def test_newcombe_1998_worked_example() -> None:
    # Newcombe (1998), Statist. Med. 17:2635, the example a=36, b=12, c=2, d=0 (n=50), method 10:
    # 0.0569 to 0.3404. By hand: p1 = 48/50, p2 = 38/50, theta = 0.2; Wilson(48, 50) =
    # (0.86540, 0.98896), Wilson(38, 50) = (0.62587, 0.85703); phi = (36*0 - 12*2) / sqrt(48*2*38*12)
    # = -0.11471; delta = sqrt(0.0946^2 + 2*0.11471*0.0946*0.0970 + 0.0970^2) = 0.14307,
    # epsilon = sqrt(0.02896^2 + 2*0.11471*0.02896*0.13413 + 0.13413^2) = 0.14043.
    low, high = newcombe_paired_interval(36, 12, 2, 0)
    assert low == pytest.approx(0.0569, abs=5e-5)
    assert high == pytest.approx(0.3404, abs=5e-5)


def test_newcombe_is_not_symmetric_when_wald_would_be() -> None:
    # 3 fixed, 1 broken of 40: Wald is symmetric around 0.05; the score interval leans up.
    low, high = newcombe_paired_interval(10, 3, 1, 26)
    assert low < 0.0 < 0.05 < high
    assert high - 0.05 > 0.05 - low


def test_detectable_difference_at_a_fifth_discordant_on_300_pairs() -> None:
    # By hand from Connor (1987): z 1.95996 and 0.84162, psi 0.2, n 300; two fixed-point steps
    # from (1.95996 + 0.84162) * sqrt(0.2 / 300) = 0.07234 give 0.07205.
    difference = minimum_detectable_difference(60, 300)
    assert difference == pytest.approx(0.07205, abs=5e-5)
    # and it satisfies Connor's equation
    assert difference is not None
    left = 300 * difference**2
    right = (1.959964 * 0.2**0.5 + 0.841621 * (0.2 - difference**2) ** 0.5) ** 2
    assert left == pytest.approx(right, rel=1e-4)


def test_detectable_difference_is_unknown_without_discordant_pairs() -> None:
    assert minimum_detectable_difference(0, 300) is None
    assert minimum_detectable_difference(5, 0) is None


def test_a_larger_study_detects_a_smaller_difference() -> None:
    small, large = minimum_detectable_difference(30, 150), minimum_detectable_difference(60, 300)
    assert small is not None and large is not None and large < small
