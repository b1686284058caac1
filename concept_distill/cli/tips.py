"""`concept-distill tips`: the study's teacher-tips baseline (general rules, best of N)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def tips_command(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG", help="YAML config.")],
    samples: Annotated[
        int, typer.Option(min=1, help="Tip sets to ask for; each costs one validation pass.")
    ] = 8,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a config key: key.sub=value.")
    ] = None,
    run_dir: Annotated[Path | None, typer.Option(help="Write results here.")] = None,
) -> None:
    """Ask the teacher for general rules with no mistakes shown; keep the best set on validation."""
    import sys

    import anyio
    from rich.console import Console
    from rich.table import Table

    from concept_distill.baselines import tips_baseline
    from concept_distill.cli.common import load_cli_config
    from concept_distill.cli.progress import PlainProgress

    config = load_cli_config(config_path, set_)
    # Plain lines on stderr (a phase per tip set, the pace every 10 s): the command runs for
    # hours on a local student and is usually left in the background with its output in a log.
    progress = PlainProgress(sys.stderr)
    result = anyio.run(lambda: tips_baseline(config, samples, run_dir, on_event=progress))
    table = Table(title=f"teacher tips, best of {samples} on validation")
    for column in ("set", "rules", "validation", "note"):
        table.add_column(column)
    best = result.best.index if result.best else None
    for tip_set in result.sets:
        score = f"{tip_set.correct}/{tip_set.examples}" if tip_set.examples else "-"
        note = "chosen" if tip_set.index == best else tip_set.failure[:60]
        table.add_row(str(tip_set.index), str(len(tip_set.rules)), score, note)
    console = Console(soft_wrap=True)
    console.print(table)
    console.print(f"prompt: {result.prompt_file}")
