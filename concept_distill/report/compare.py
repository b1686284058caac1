"""Several prompts' results on one split against a reference, with Holm-adjusted p-values.

The study compares the distilled prompt with each baseline on the same test examples. Each
comparison is McNemar's exact test on the discordant pairs with Newcombe's interval for the
difference; with several baselines the p-values are adjusted by Holm's step-down method, so
the chance of calling any baseline different by luck stays at most the level over the family.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from concept_distill.errors import ConfigError
from concept_distill.loop.stats import PairedComparison, holm_adjusted, paired_comparison
from concept_distill.records import ExampleResult


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
        )
        for (name, outcomes, comparison), p_holm in zip(rows, adjusted, strict=True)
    ]
