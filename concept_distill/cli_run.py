"""`concept-distill run`, `report` and `cache`: thin wrappers over the library."""

from __future__ import annotations

import json
import logging
import logging.handlers
import queue
from pathlib import Path
from typing import Annotated, Any

import anyio
import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from concept_distill.config import Config, load_config
from concept_distill.distill import DistillResult, distill, new_run_dir
from concept_distill.errors import ConfigError
from concept_distill.planning import plan_run
from concept_distill.report.rerender import rerender_report


class LiveView:
    """A live table of the run, fed by the graph's custom stream events."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {"phase": "starting", "iteration": "0", "progress": ""}
        self.proposed = 0
        self.accepted = 0
        self.live = Live(self.render(), refresh_per_second=4, transient=False)

    def render(self) -> Table:
        """The current view."""
        table = Table(show_header=False, title="concept-distill")
        for key, value in self.fields.items():
            table.add_row(key, value)
        table.add_row("rules proposed / accepted", f"{self.proposed} / {self.accepted}")
        return table

    def __call__(self, event: dict[str, Any]) -> None:
        """Take one event: update the view and log it to run.log."""
        kind = event.get("event")
        if kind == "phase":
            self.fields["phase"] = str(event.get("phase"))
        elif kind == "example":
            self.fields["progress"] = f"{event['label']}: {event['done']}/{event['total']}"
        elif kind == "rules":
            self.proposed += int(event.get("proposed", 0))
        elif kind == "validated":
            self.accepted += int(event.get("accepted", 0))
        elif kind == "iteration":
            self.fields["iteration"] = str(event.get("iteration"))
            self.fields["validation accuracy"] = f"{100 * float(event['validation_accuracy']):.1f}%"
        logging.getLogger("concept_distill.run").info("%s", json.dumps(event))
        self.live.update(self.render())


def run_command(
    config_path: Annotated[
        Path | None, typer.Argument(metavar="CONFIG", help="YAML config.")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a config key: key.sub=value.")
    ] = None,
    resume: Annotated[Path | None, typer.Option(help="Continue the run in this directory.")] = None,
    run_dir: Annotated[Path | None, typer.Option(help="Directory for a new run.")] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Print planned calls and tokens; spend nothing.")
    ] = False,
) -> None:
    """Run Concept Distillation: base prompt -> rules accepted on validation -> test report."""
    if resume is not None:
        saved = resume / "config.yaml"
        if not saved.exists():
            raise ConfigError(f"{resume} is not a run directory (no config.yaml)")
        config = load_config(saved, set_ or [])
    elif config_path is not None:
        config = load_config(config_path, set_ or [])
    else:
        raise ConfigError("give a CONFIG file, or --resume RUN_DIR")
    console = Console()
    if dry_run:
        console.print(anyio.run(plan_run, config))
        return
    directory = resume or run_dir or new_run_dir(config)
    result = _run_logged(config, directory, resume is not None)
    _print_result(console, result)


def _run_logged(config: Config, directory: Path, resume: bool) -> DistillResult:
    """Run with run.log written by a listener thread (no file I/O on the event loop)."""
    directory.mkdir(parents=True, exist_ok=True)
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    handler = logging.FileHandler(directory / "run.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    listener = logging.handlers.QueueListener(records, handler)
    root = logging.getLogger("concept_distill")
    queue_handler = logging.handlers.QueueHandler(records)
    root.addHandler(queue_handler)
    root.setLevel(logging.INFO)
    listener.start()
    view = LiveView()
    try:
        root.info("run %s in %s", "resumed" if resume else "started", directory)
        with view.live:
            result = anyio.run(_distill, config, directory, resume, view)
        root.info("run finished: %s", json.dumps(result.metrics.get("stop_reason")))
        return result
    except BaseException as error:
        root.error("run stopped: %s: %s", type(error).__name__, error)
        raise
    finally:
        root.removeHandler(queue_handler)
        listener.stop()
        handler.close()


async def _distill(config: Config, directory: Path, resume: bool, view: LiveView) -> DistillResult:
    return await distill(config, run_dir=directory, resume=resume, on_event=view)


def _print_result(console: Console, result: DistillResult) -> None:
    metrics = result.metrics
    table = Table(title="held-out test split")
    for column in ("prompt", "accuracy", "95% CI"):
        table.add_column(column)
    for label, key in (("base", "base"), ("optimized", "final")):
        low, high = metrics.get(f"test_ci_{key}", [0.0, 0.0])
        table.add_row(
            label, f"{100 * metrics.get(f'test_accuracy_{key}', 0.0):.1f}%",
            f"{100 * low:.1f}-{100 * high:.1f}%",
        )  # fmt: skip
    console.print(table)
    low, high = metrics.get("test_difference_ci", [0.0, 0.0])
    p_value = metrics.get("test_p_two_sided", 1.0)
    console.print(
        f"difference {100 * metrics.get('test_difference', 0.0):+.1f} points "
        f"(95% CI {100 * low:+.1f} to {100 * high:+.1f}, p={p_value:.3g}) "
        f"on {metrics.get('test_examples')} examples; "
        f"{len(result.accepted_rules)} rule(s) accepted; stopped: {metrics.get('stop_reason')}"
    )
    console.print(f"report: {result.run_dir / 'report.html'}")


def report_command(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A finished run.")],
) -> None:
    """Re-render report.html from a run directory's files."""
    path = anyio.run(rerender_report, run_dir)
    Console().print(f"report: {path}")


cache_app = typer.Typer(help="Manage the response cache.", no_args_is_help=True)


@cache_app.command("info")
def cache_info(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG")],
) -> None:
    """Where the cache is, how many replies it holds, and its size."""
    path = load_config(config_path).response_cache()
    if not path.exists():
        Console().print(f"{path}: no cache yet")
        return
    import sqlite3

    with sqlite3.connect(path) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM responses").fetchone()
    Console().print(f"{path}: {count} cached replies, {path.stat().st_size / 1e6:.1f} MB")


@cache_app.command("clear")
def cache_clear(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG")],
) -> None:
    """Delete the response cache."""
    path = load_config(config_path).response_cache()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    Console().print(f"{path}: cleared")
