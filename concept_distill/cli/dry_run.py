"""`concept-distill run --dry-run`: the most calls and tokens a run can spend; nothing is called."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from concept_distill.config import Config


def print_plan(console: Console, config: Config) -> None:
    """Read the data, make the splits and print the upper bounds of the run's spend."""
    import anyio

    from concept_distill.planning import plan_run

    console.print(anyio.run(plan_run, config))
