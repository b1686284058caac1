"""Several prompts' results on one split against a reference, with Holm-adjusted p-values.

The study compares the distilled prompt with each baseline on the same test examples. Each
comparison is McNemar's exact test on the discordant pairs with Newcombe's interval for the
difference; with several baselines the p-values are adjusted by Holm's step-down method, so
the chance of calling any baseline different by luck stays at most the level over the family.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, ValidationError

from concept_distill.errors import ConfigError
from concept_distill.loop.stats import (
    PairedComparison,
    holm_adjusted,
    minimum_detectable_difference,
    paired_comparison,
)
from concept_distill.records import ExampleResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class Compared(BaseModel):
    """One prompt's results against the reference's, on the same examples."""

    model_config = ConfigDict(frozen=True)

    name: str
    examples: int
    correct: int
    unjudged: int
    comparison: PairedComparison
    """The reference minus this prompt: positive when the reference is better."""
    p_holm: float
    detectable: float | None
    """The smallest difference pairs with this discordance detect (80% power, 5% two-sided);
    None without a discordant pair."""


def read_outcomes(path: Path) -> dict[str, tuple[bool, bool]]:
    """Example id -> (correct, unjudged) from a results file (`RUN/results/<name>.jsonl`).

    Raises:
        ConfigError: The file is missing, not a results file, or repeats an example id.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read results ({error})") from None
    outcomes: dict[str, tuple[bool, bool]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = ExampleResult.model_validate(json.loads(line))
        except (ValueError, ValidationError):
            raise ConfigError(f"{path}:{number}: not a result row") from None
        if row.example_id in outcomes:
            raise ConfigError(f"{path}:{number}: example {row.example_id} appears twice")
        unjudged = row.judgement.outcome == "unjudged"
        outcomes[row.example_id] = (row.judgement.correct, unjudged)
    if not outcomes:
        raise ConfigError(f"{path}: no results")
    return outcomes


def compare_results(
    reference: dict[str, tuple[bool, bool]], others: dict[str, dict[str, tuple[bool, bool]]]
) -> list[Compared]:
    """Each of `others` (by name) against `reference`, on exactly the reference's examples.

    Unjudged examples count as not correct on their side (and are reported).

    Raises:
        ConfigError: A results set does not hold the same examples as the reference.
    """
    ids = sorted(reference)
    rows: list[tuple[str, dict[str, tuple[bool, bool]], PairedComparison]] = []
    for name, outcomes in others.items():
        if set(outcomes) != set(reference):
            missing, extra = set(reference) - set(outcomes), set(outcomes) - set(reference)
            raise ConfigError(
                f"{name}: not the reference's examples ({len(missing)} missing, {len(extra)} "
                f"more, e.g. {sorted(missing or extra)[0]})"
            )
        theirs = [outcomes[i][0] for i in ids]
        ours = [reference[i][0] for i in ids]
        rows.append((name, outcomes, paired_comparison(theirs, ours)))
    adjusted = holm_adjusted([comparison.p_two_sided for _, _, comparison in rows])
    return [
        Compared(
            name=name,
            examples=len(ids),
            correct=sum(correct for correct, _ in outcomes.values()),
            unjudged=sum(unjudged for _, unjudged in outcomes.values()),
            comparison=comparison,
            p_holm=p_holm,
            detectable=minimum_detectable_difference(
                comparison.fixed + comparison.broken, comparison.n
            ),
        )
        for (name, outcomes, comparison), p_holm in zip(rows, adjusted, strict=True)
    ]


class Comparison(BaseModel):
    """What `compare --json` writes: the reference's score and each comparison against it."""

    model_config = ConfigDict(frozen=True)

    reference: str
    examples: int
    correct: int
    rows: list[Compared]


def comparison_figure(comparison: Comparison) -> Figure:
    """The reference minus each prompt, in points, with its 95% interval and Holm-adjusted p.

    One row per prompt, in the table's order from the top; a line at zero, so an interval that
    crosses it reads as "not shown different". Built on `Figure`, not pyplot (see `html.py`).
    """
    from matplotlib.figure import Figure

    rows = comparison.rows
    figure = Figure(figsize=(7, 1.2 + 0.5 * len(rows)))
    axes = figure.subplots()
    positions = list(range(len(rows)))[::-1]
    for position, row in zip(positions, rows, strict=True):
        c = row.comparison
        axes.errorbar(
            [100 * c.difference],
            [position],
            xerr=[[100 * (c.difference - c.ci_low)], [100 * (c.ci_high - c.difference)]],
            fmt="o",
            color="black",
            capsize=4,
        )
        axes.annotate(
            f"p Holm {row.p_holm:.2g}",
            (100 * c.ci_high, position),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    axes.axvline(0, color="grey", linewidth=1)
    axes.set_yticks(positions, [f"{row.name} ({row.correct}/{row.examples})" for row in rows])
    axes.set_ylim(-0.7, len(rows) - 0.3)
    axes.margins(x=0.35)  # room for the "p Holm" label right of the widest interval
    axes.set_xlabel(
        f"{comparison.reference} ({comparison.correct}/{comparison.examples}) "
        "minus each, points (95% CI)"
    )
    axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return figure
