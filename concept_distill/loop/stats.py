"""Accuracy intervals and paired tests, exact and dependency-free."""

from __future__ import annotations

import math
from fractions import Fraction
from statistics import NormalDist

from pydantic import BaseModel, ConfigDict

_Z95 = 1.959963984540054


def wilson_interval(successes: int, total: int, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion (sane at 0, 1 and small n).

    The ends at 0 and n successes are exact (0.0 and 1.0), not a rounding residue.
    """
    if total == 0:
        return 0.0, 1.0
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == total else min(1.0, centre + half)
    return low, high


def binomial_tail(k: int, n: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2)."""
    if k <= 0:
        return 1.0
    tail: int = sum(math.comb(n, i) for i in range(k, n + 1))
    return float(Fraction(tail, 1 << n))


def newcombe_paired_interval(
    both: int, fixed: int, broken: int, neither: int, z: float = _Z95
) -> tuple[float, float]:
    """Score interval for the paired difference new - base (Newcombe 1998, method 10).

    Cells: `both` right under both prompts, `fixed` (wrong before, right now), `broken` (right
    before, wrong now), `neither`. The Wilson intervals of the two accuracies are combined with
    the correlation of the pairs (phi, taken as 0 when a margin is empty), so the interval keeps
    a sensible width when every discordant pair moved the same way, where Wald's has none.
    With no pairs at all it is the whole range (-1, 1).
    """
    n = both + fixed + broken + neither
    if n == 0:
        return -1.0, 1.0
    p_new = (both + fixed) / n
    p_base = (both + broken) / n
    low_new, high_new = wilson_interval(both + fixed, n, z)
    low_base, high_base = wilson_interval(both + broken, n, z)
    margins = (both + fixed) * (broken + neither) * (both + broken) * (fixed + neither)
    phi = (both * neither - fixed * broken) / math.sqrt(margins) if margins else 0.0
    below = math.sqrt(
        max(
            0.0,
            (p_new - low_new) ** 2
            - 2 * phi * (p_new - low_new) * (high_base - p_base)
            + (high_base - p_base) ** 2,
        )
    )
    above = math.sqrt(
        max(
            0.0,
            (high_new - p_new) ** 2
            - 2 * phi * (high_new - p_new) * (p_base - low_base)
            + (p_base - low_base) ** 2,
        )
    )
    difference = (fixed - broken) / n
    return max(-1.0, difference - below), min(1.0, difference + above)


class PairedComparison(BaseModel):
    """Two prompts on the same examples: who fixed and who broke what, and how sure we are."""

    model_config = ConfigDict(frozen=True)

    n: int
    base_correct: int
    new_correct: int
    fixed: int  # wrong before, correct now
    broken: int  # correct before, wrong now
    difference: float
    ci_low: float  # Newcombe's score interval (method 10), 95%
    ci_high: float
    p_better: float  # one-sided exact test on the discordant pairs
    p_two_sided: float


def comparison_from_counts(
    n: int, base_correct: int, new_correct: int, fixed: int, broken: int
) -> PairedComparison:
    """The paired comparison from its four counts (McNemar's exact test, Newcombe's interval)."""
    both = base_correct - broken
    neither = n - both - fixed - broken
    if min(both, neither, fixed, broken) < 0 or new_correct != both + fixed:
        raise ValueError("inconsistent paired counts")
    discordant = fixed + broken
    low, high = newcombe_paired_interval(both, fixed, broken, neither)
    p_two = min(1.0, 2 * binomial_tail(max(fixed, broken), discordant)) if discordant else 1.0
    return PairedComparison(
        n=n,
        base_correct=base_correct,
        new_correct=new_correct,
        fixed=fixed,
        broken=broken,
        difference=(fixed - broken) / n if n else 0.0,
        ci_low=low,
        ci_high=high,
        p_better=binomial_tail(fixed, discordant) if discordant else 1.0,
        p_two_sided=p_two,
    )


def paired_comparison(base: list[bool], new: list[bool]) -> PairedComparison:
    """McNemar's exact test on discordant pairs, with Newcombe's interval for the difference."""
    if len(base) != len(new):
        raise ValueError("paired comparison needs the same examples on both sides")
    fixed = sum(1 for b, c in zip(base, new, strict=True) if c and not b)
    broken = sum(1 for b, c in zip(base, new, strict=True) if b and not c)
    return comparison_from_counts(len(base), sum(base), sum(new), fixed, broken)


def holm_adjusted(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment (1979): family-wise error control over several comparisons.

    The i-th smallest p-value is multiplied by (m - i), made monotone, and capped at 1; the
    result is in the input order. Used when several baselines are each compared with one
    distilled prompt on the same test split.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda index: p_values[index])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def minimum_detectable_difference(
    discordant: int, n: int, *, alpha: float = 0.05, power: float = 0.8
) -> float | None:
    """The smallest true paired difference McNemar's test on `n` pairs would find.

    Found with probability `power` at two-sided level `alpha`, given the share of discordant
    pairs measured (psi = discordant / n): Connor's (1987) sample-size formula,
    n * d^2 = (z(1 - alpha/2) * sqrt(psi) + z(power) * sqrt(psi - d^2))^2, solved for d by
    fixed-point iteration (it contracts: d^2 is small against psi). It says what a study of this
    size could have seen, so a difference it did not find is not read as no difference. None
    when no pair is discordant: the share, and so the answer, is unknown.
    """
    if n <= 0 or discordant <= 0:
        return None
    share = discordant / n
    z_alpha = NormalDist().inv_cdf(1 - alpha / 2)
    z_power = NormalDist().inv_cdf(power)
    difference = (z_alpha + z_power) * math.sqrt(share / n)
    for _ in range(100):
        spread = math.sqrt(max(0.0, share - difference * difference))
        updated = (z_alpha * math.sqrt(share) + z_power * spread) / math.sqrt(n)
        if abs(updated - difference) < 1e-12:
            break
        difference = updated
    return min(difference, share)
