"""`concept-distill sandbox`: judge a JSONL file of programs, or report the isolation layers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from concept_distill.sandbox.isolation import IsolationReport
    from concept_distill.sandbox.jsonl import JobLine
    from concept_distill.sandbox.limits import SandboxLimits

# The sandbox modules are imported when the command runs: registering it in the main CLI must
# cost nothing beyond typer.


def sandbox_command(
    file: Annotated[Path | None, typer.Argument(help="JSONL: id, code, test, entry_point?")] = None,
    timeout: Annotated[float, typer.Option(help="Wall-clock seconds per program.")] = 10.0,
    memory_mb: Annotated[int, typer.Option(help="Memory limit per program, MB.")] = 512,
    jobs: Annotated[int | None, typer.Option(help="Programs at once (default: cores).")] = None,
    allow_weak_isolation: Annotated[
        bool, typer.Option(help="Run even if an isolation layer is missing.")
    ] = False,
    doctor: Annotated[bool, typer.Option(help="Report the isolation layers and exit.")] = False,
) -> None:
    """Run each program against its tests in the sandbox; print one JSON verdict per line."""
    import anyio

    from concept_distill.errors import ConfigError, first_validation_problem
    from concept_distill.sandbox.jsonl import read_job_lines
    from concept_distill.sandbox.limits import SandboxLimits

    try:
        limits = SandboxLimits(
            timeout_s=timeout,
            memory_mb=memory_mb,
            jobs=jobs,
            allow_weak_isolation=allow_weak_isolation or doctor,
        )
    except ValueError as error:
        raise ConfigError(f"bad sandbox option: {first_validation_problem(error)}") from error
    if doctor:
        report = anyio.run(_isolation, limits)
        _print_report(report)
        raise typer.Exit(0 if report.strong else 1)
    if file is None:
        raise ConfigError("give a JSONL file of programs, or --doctor")
    anyio.run(_judge, read_job_lines(file), limits)


async def _isolation(limits: SandboxLimits) -> IsolationReport:
    from concept_distill.sandbox.supervisor import Sandbox

    async with Sandbox(limits.model_copy(update={"jobs": 1})) as sandbox:
        return sandbox.isolation


async def _judge(lines: list[JobLine], limits: SandboxLimits) -> None:
    from concept_distill.sandbox.supervisor import Sandbox

    async with Sandbox(limits) as sandbox:
        batch = await sandbox.run_many(line.job() for line in lines)
    if not batch.isolation.strong:
        print(f"concept-distill: warning: {batch.isolation.summary()}", file=sys.stderr)
    for line, verdict in zip(lines, batch.verdicts, strict=True):
        record = {"id": line.id, **verdict.model_dump(mode="json")}
        print(json.dumps(record, ensure_ascii=False))


def _print_report(report: IsolationReport) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="sandbox isolation layers")
    for column in ("layer", "state", "detail"):
        table.add_column(column)
    for layer in report.layers:
        if layer.active:
            state = "[green]active[/green]"
        else:
            state = "[red]MISSING[/red]" if layer.required else "[yellow]missing[/yellow]"
        table.add_row(layer.name, state, layer.detail)
    console = Console()
    console.print(table)
    console.print(report.summary())
