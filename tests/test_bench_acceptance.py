"""The acceptance benchmark's paired summaries over seeds, on hand-computed figures."""

from __future__ import annotations

import pytest
from support.bench import load_bench

bench = load_bench("acceptance")


def _seeds(calls: list[int], accepted: list[int] | None = None) -> list[object]:
    accepted = accepted or [0] * len(calls)
    return [
        bench.SeedResult(calls=c, helpful_offered=3, helpful_accepted=a, false_rounds=0,
                         accuracy=0.3, base_accuracy=0.3)
        for c, a in zip(calls, accepted, strict=True)
    ]  # fmt: skip


def test_calls_ratio_of_proportional_seeds_has_no_width() -> None:
    # Every seed's counts are in the same 2:1 ratio, so the ratio is known exactly.
    ratio, (low, high) = bench.paired_calls_ratio(_seeds([2, 4]), _seeds([1, 2]))
    assert ratio == pytest.approx(2.0)
    assert (low, high) == pytest.approx((2.0, 2.0))


def test_calls_ratio_interval_counts_the_covariance_of_the_pairs() -> None:
    # Means 3 and 1.5; relative variances 2/9 each, covariance -1: (2/9 + 2/9 + 4/9) / 2 = 4/9.
    ratio, (low, high) = bench.paired_calls_ratio(_seeds([2, 4]), _seeds([2, 1]))
    half = 1.959964 * 2.0 * (2 / 3)
    assert ratio == pytest.approx(2.0)
    assert (low, high) == pytest.approx((2.0 - half, 2.0 + half))


def test_true_positive_gap_is_paired_over_seeds() -> None:
    # Per-seed differences 3/3 and 0/3: mean 0.5, standard deviation sqrt(0.5).
    gap, half = bench.paired_tpr_gap(_seeds([1, 1], [3, 0]), _seeds([1, 1], [0, 0]))
    assert gap == pytest.approx(0.5)
    assert half == pytest.approx(1.959964 * 0.5**0.5 / 2**0.5)
