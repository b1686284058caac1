"""`concept-distill report`: re-render a finished run's report.html from its files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def report_command(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A finished run.")],
) -> None:
    """Re-render report.html from a run directory's files."""
    import anyio
    from rich.console import Console

    from concept_distill.report.rerender import rerender_report

    path = anyio.run(rerender_report, run_dir)
    Console().print(f"report: {path}", soft_wrap=True)
