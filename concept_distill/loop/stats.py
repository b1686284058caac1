"""Accuracy intervals and paired tests, exact and dependency-free."""

from __future__ import annotations

import math
from fractions import Fraction

from pydantic import BaseModel, ConfigDict

_Z95 = 1.959963984540054


def wilson_interval(successes: int, total: int, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion (sane at 0, 1 and small n)."""
    if total == 0:
        return 0.0, 1.0
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def binomial_tail(k: int, n: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2)."""
    if k <= 0:
        return 1.0
    tail: int = sum(math.comb(n, i) for i in range(k, n + 1))
    return float(Fraction(tail, 1 << n))


class PairedComparison(BaseModel):
    """Two prompts on the same examples: who fixed and who broke what, and how sure we are."""

    model_config = ConfigDict(frozen=True)

    n: int
    base_correct: int
    new_correct: int
    fixed: int  # wrong before, correct now
    broken: int  # correct before, wrong now
    difference: float
    ci_low: float
    ci_high: float
    p_better: float  # one-sided exact test on the discordant pairs
    p_two_sided: float


def paired_comparison(base: list[bool], new: list[bool]) -> PairedComparison:
    """McNemar's exact test on discordant pairs, with a Wald interval for the difference."""
    if len(base) != len(new):
        raise ValueError("paired comparison needs the same examples on both sides")
    n = len(base)
    fixed = sum(1 for b, c in zip(base, new, strict=True) if c and not b)
    broken = sum(1 for b, c in zip(base, new, strict=True) if b and not c)
    discordant = fixed + broken
    difference = (fixed - broken) / n if n else 0.0
    if n:
        variance = (discordant - (fixed - broken) ** 2 / n) / (n * n)
        half = _Z95 * math.sqrt(max(variance, 0.0))
    else:
        half = 0.0
    p_two = min(1.0, 2 * binomial_tail(max(fixed, broken), discordant)) if discordant else 1.0
    return PairedComparison(
        n=n,
        base_correct=sum(base),
        new_correct=sum(new),
        fixed=fixed,
        broken=broken,
        difference=difference,
        ci_low=difference - half,
        ci_high=difference + half,
        p_better=binomial_tail(fixed, discordant) if discordant else 1.0,
        p_two_sided=p_two,
    )
