"""`concept-distill compare`: prompts' results on one split against a reference, Holm-adjusted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from concept_distill.errors import ConfigError


def compare_command(
    reference: Annotated[
        str, typer.Argument(metavar="REFERENCE", help="[NAME=]results file, e.g. the distilled.")
    ],
    others: Annotated[
        list[str], typer.Argument(metavar="OTHER...", help="[NAME=]results files to compare.")
    ],
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the comparison here as JSON.")
    ] = None,
    plot_path: Annotated[
        Path | None, typer.Option("--plot", help="Also draw the differences here (PNG).")
    ] = None,
) -> None:
    """Compare results files of one split: accuracy, difference, McNemar p, Holm-adjusted p.

    Also the discordant pairs (examples only the reference got right / only the other did) and
    the smallest difference that many pairs could detect (80% power, 5% two-sided).
    """
    from rich.console import Console
    from rich.table import Table

    from concept_distill.report.compare import (
        Comparison,
        compare_results,
        comparison_figure,
        read_outcomes,
    )

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
        c, detectable = row.comparison, row.detectable
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
    comparison = Comparison(
        reference=ref_name, examples=len(reference_outcomes), correct=correct, rows=rows
    )
    if json_path is not None:
        _write(json_path, lambda path: path.write_text(comparison.model_dump_json(indent=2) + "\n"))
    if plot_path is not None:
        figure = comparison_figure(comparison)
        _write(plot_path, lambda path: figure.savefig(path, format="png", dpi=100))


def _write(path: Path, write: Callable[[Path], object]) -> None:
    """Write one output file; an unwritable path is a one-line error, not a traceback."""
    try:
        write(path)
    except OSError as error:
        raise ConfigError(f"cannot write {path}: {error.strerror or error}") from None
    print(f"wrote {path}")


def _named(argument: str) -> tuple[str, Path]:
    """`NAME=path` or `path` (named after the run directory and file)."""
    name, sep, path = argument.partition("=")
    if not sep:
        file = Path(argument)
        run = file.parent.parent.name if file.parent.name == "results" else file.parent.name
        return f"{run}/{file.stem}" if run else file.stem, file
    return name, Path(path)
