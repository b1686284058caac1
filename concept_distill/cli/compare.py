"""`concept-distill compare`: prompts' results on one split against a reference, Holm-adjusted."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def compare_command(
    reference: Annotated[
        str, typer.Argument(metavar="REFERENCE", help="[NAME=]results file, e.g. the distilled.")
    ],
    others: Annotated[
        list[str], typer.Argument(metavar="OTHER...", help="[NAME=]results files to compare.")
    ],
) -> None:
    """Compare results files of one split: accuracy, difference, McNemar p, Holm-adjusted p.

    Also the discordant pairs (examples only the reference got right / only the other did) and
    the smallest difference that many pairs could detect (80% power, 5% two-sided).
    """
    from rich.console import Console
    from rich.table import Table

    from concept_distill.loop.stats import minimum_detectable_difference
    from concept_distill.report.compare import compare_results, read_outcomes

    ref_name, ref_path = _named(reference)
    named = [_named(other) for other in others]
    reference_outcomes = read_outcomes(ref_path)
    rows = compare_results(reference_outcomes, {name: read_outcomes(path) for name, path in named})
    correct = sum(correct for correct, _ in reference_outcomes.values())
    table = Table(title=f"against {ref_name}: {correct}/{len(reference_outcomes)} correct")
    for column in ("prompt", "correct", "unjudged", f"{ref_name} minus it (95% CI)", "p", "p Holm"):
        table.add_column(column)
    sizes = []
    for row in rows:
        c = row.comparison
        detectable = minimum_detectable_difference(c.fixed + c.broken, c.n)
        sizes.append(
            f"{row.name}: {c.fixed} right only with {ref_name}, {c.broken} only with it; "
            + (
                "no discordant pair, so no test can be sized"
                if detectable is None
                else f"{c.n} pairs like these detect {100 * detectable:.1f} points "
                "(80% power, 5% two-sided)"
            )
        )
        table.add_row(
            row.name,
            f"{row.correct}/{row.examples}",
            str(row.unjudged),
            f"{100 * c.difference:+.1f} ({100 * c.ci_low:+.1f} to {100 * c.ci_high:+.1f}) pts",
            f"{c.p_two_sided:.3g}",
            f"{row.p_holm:.3g}",
        )
    console = Console(soft_wrap=True)
    console.print(table)
    for line in sizes:
        console.print(line, highlight=False)


def _named(argument: str) -> tuple[str, Path]:
    """`NAME=path` or `path` (named after the run directory and file)."""
    name, sep, path = argument.partition("=")
    if not sep:
        file = Path(argument)
        run = file.parent.parent.name if file.parent.name == "results" else file.parent.name
        return f"{run}/{file.stem}" if run else file.stem, file
    return name, Path(path)
