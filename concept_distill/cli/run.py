"""`concept-distill run`: load the config, distill (or plan with `--dry-run`), print the result."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from concept_distill.config import Config
    from concept_distill.distillation import DistillResult

ConfigArgument = Annotated[Path | None, typer.Argument(metavar="CONFIG", help="YAML config.")]
SetOption = Annotated[
    list[str] | None, typer.Option("--set", help="Override a config key: key.sub=value.")
]


def run_command(
    config_path: ConfigArgument = None,
    set_: SetOption = None,
    resume: Annotated[Path | None, typer.Option(help="Continue the run in this directory.")] = None,
    run_dir: Annotated[
        Path | None,
        typer.Option(help="Directory for a new run (or for the run resumed by --resume-id)."),
    ] = None,
    resume_id: Annotated[
        str | None,
        typer.Option(
            help="Continue a run kept in PostgreSQL by its id (its first run directory's name), "
            "from any host; the database is found through CONFIG's storage section, or "
            "$CONCEPT_DISTILL_DATABASE_URL without CONFIG.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Print planned calls and tokens; spend nothing.")
    ] = False,
) -> None:
    """Run Concept Distillation: base prompt -> rules accepted on validation -> test report."""
    from rich.console import Console

    from concept_distill.cli.common import load_cli_config
    from concept_distill.errors import ConfigError

    run_id = None
    if resume_id is not None:
        if resume is not None:
            raise ConfigError("give --resume RUN_DIR or --resume-id ID, not both")
        config = _config_of_run(resume_id, config_path, set_)
        run_id, resume = resume_id, run_dir or config.run_dir / resume_id
    elif resume is not None:
        saved = resume / "config.yaml"
        if not saved.exists():
            raise ConfigError(f"{resume} is not a run directory (no config.yaml)")
        config = load_cli_config(saved, set_)
    elif config_path is not None:
        config = load_cli_config(config_path, set_)
    else:
        raise ConfigError("give a CONFIG file, or --resume RUN_DIR")
    console = Console()
    if dry_run:
        from concept_distill.cli.dry_run import print_plan

        print_plan(console, config)
        return
    result = _run_with_progress(config, resume or run_dir, resume is not None, console, run_id)
    _print_result(console, result)


def _config_of_run(run_id: str, config_path: Path | None, overrides: list[str] | None) -> Config:
    """The config a run in the shared database was started with, read from there.

    CONFIG, when given, only says where the database is (its `storage` section).
    """
    import tempfile

    import anyio

    from concept_distill.cli.common import load_cli_config
    from concept_distill.config import StorageConfig
    from concept_distill.errors import ConfigError
    from concept_distill.storage.pg_connect import database_url
    from concept_distill.storage.postgres import saved_config

    storage = StorageConfig(backend="postgres")
    if config_path is not None:
        storage = load_cli_config(config_path, None).storage
    if storage.backend != "postgres":
        raise ConfigError(f"--resume-id: {config_path} keeps runs in files (storage.backend)")
    url = database_url(storage.url_env)
    text = anyio.run(lambda: saved_config(url, run_id, url_env=storage.url_env))
    with tempfile.TemporaryDirectory() as scratch:
        saved = Path(scratch, "config.yaml")
        saved.write_text(text, encoding="utf-8")
        return load_cli_config(saved, overrides)


def _progress_view(
    console: Console,
) -> tuple[Callable[[Any], None], contextlib.AbstractContextManager[Any]]:
    """The live table on a terminal; plain lines (and a context that does nothing) otherwise."""
    from concept_distill.cli.progress import LiveView, PlainProgress

    if console.is_terminal:
        view = LiveView()
        return view, view.live
    return PlainProgress(sys.stdout), contextlib.nullcontext()


def _run_with_progress(
    config: Config, directory: Path | None, resume: bool, console: Console, run_id: str | None
) -> DistillResult:
    """Distill, showing progress; the run itself writes run.log in its directory."""
    import anyio

    from concept_distill.distillation import distill

    view, shown = _progress_view(console)

    async def run() -> DistillResult:
        return await distill(config, run_dir=directory, resume=resume, run_id=run_id, on_event=view)

    with shown:
        return anyio.run(run)


def _print_result(console: Console, result: DistillResult) -> None:
    from rich.table import Table

    metrics = result.metrics
    table = Table(title="held-out test split")
    for column in ("prompt", "accuracy", "95% CI"):
        table.add_column(column)
    rows = (
        ("base", metrics.test_accuracy_base, metrics.test_ci_base),
        ("optimized", metrics.test_accuracy_final, metrics.test_ci_final),
    )
    for label, accuracy, interval in rows:
        table.add_row(label, _percent(accuracy), _interval(interval, "{:.1f}-{:.1f}%"))
    # A blank line first: the live view's last frame stays on screen, and without it this
    # table's title reads as a line of that view.
    console.print()
    console.print(table)
    difference = metrics.test_difference
    p_value = metrics.test_p_two_sided
    console.print(
        f"difference {'n/a' if difference is None else f'{100 * difference:+.1f}'} points "
        f"(95% CI {_interval(metrics.test_difference_ci, '{:+.1f} to {:+.1f}')}, "
        f"p={'n/a' if p_value is None else f'{p_value:.3g}'}) "
        f"on {metrics.test_examples} examples; "
        f"{len(result.accepted_rules)} rule(s) accepted; stopped: {metrics.stop_reason}",
        soft_wrap=True,
    )
    report = result.report_path or result.run_dir / "report.html"
    console.print(f"report: {report}", soft_wrap=True)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _interval(bounds: tuple[float, float] | None, template: str) -> str:
    """Bounds in percentage points; a bound within rounding of zero prints as 0, never -0.0."""
    if bounds is None:
        return "n/a"
    low, high = (round(100 * bound, 1) + 0.0 for bound in bounds)
    return template.format(low, high)
