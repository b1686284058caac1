"""The Python API: `await distill(config)` runs (or resumes) a distillation and returns its result.

`distill` is the owner of the run's resources: it enters `RunResources` (which chooses and
creates the run directory), opens the run's checkpoints there (SQLite, LangGraph's own saver),
and runs the graph with the resources in its context. A run that was interrupted (Ctrl-C, a
crash, kill -9) continues from its last checkpoint with `resume=True`; with the response cache
and the call ledger, no completed model call is paid twice and spend covers the whole run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from pydantic import BaseModel, ConfigDict

from concept_distill.agents.contracts import Student, Teacher, Verifier
from concept_distill.config import Config
from concept_distill.errors import ConfigError
from concept_distill.events import Event, parse_event
from concept_distill.graph.resources import RoleInput, RunResources
from concept_distill.records import Rule, RunMetrics

CHECKPOINTS = "checkpoints.sqlite"
THREAD_ID = "distill"
EventCallback = Callable[[Event], None]
log = logging.getLogger("concept_distill.run")


class DistillResult(BaseModel):
    """What a finished run produced, and where it is."""

    model_config = ConfigDict(frozen=True)

    optimized_prompt: str
    rules: list[Rule]
    metrics: RunMetrics
    run_dir: Path
    report_path: Path | None = None

    @property
    def accepted_rules(self) -> list[Rule]:
        """The rules in the optimized prompt, in the order they appear there."""
        accepted = [rule for rule in self.rules if rule.status == "accepted"]
        return sorted(accepted, key=lambda rule: rule.accepted_order or 0)


def recursion_limit(config: Config) -> int:
    """LangGraph steps a run can take, with a margin of two.

    Prepare and initialize, four per round (select, induce, validate, update), then the last
    select, audit, test and report.
    """
    return 2 + 4 * config.loop.max_iterations + 4 + 2


async def distill(
    config: Config,
    *,
    run_dir: Path | None = None,
    resume: bool = False,
    student: Student | RoleInput | None = None,
    teacher: Teacher | RoleInput | None = None,
    verifier: Verifier | None = None,
    on_event: EventCallback | None = None,
) -> DistillResult:
    """Run the graph to the end (or resume it in `run_dir`) and return the result.

    `run_dir` names the run directory (created if missing); without it a fresh one is made
    under `config.run_dir`. Each role may be an agent, a LangChain chat model or a `ChatRole`.
    """
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from concept_distill.graph.builder import build_graph
    from concept_distill.graph.scope import DistillContext

    if resume and (run_dir is None or not await anyio.Path(run_dir, CHECKPOINTS).is_file()):
        raise ConfigError(f"nothing to resume: no {CHECKPOINTS} in {run_dir}")
    if resume and run_dir is not None:
        await anyio.to_thread.run_sync(check_checkpoints, run_dir / CHECKPOINTS)
    resources = RunResources(
        config, run_dir=run_dir, student=student, teacher=teacher, verifier=verifier
    )
    try:
        async with resources:
            path = resources.directory.path
            log.info("run %s in %s", "resumed" if resume else "started", path)
            async with AsyncSqliteSaver.from_conn_string(str(path / CHECKPOINTS)) as saver:
                graph = build_graph(config, checkpointer=saver)
                run_config: Any = {
                    "configurable": {"thread_id": THREAD_ID},
                    "recursion_limit": recursion_limit(config),
                    "max_concurrency": config.loop.batches_per_round,
                    "tags": ["concept-distill", f"task:{config.task.name}"],
                    "metadata": {"run_dir": str(path)},
                }
                values: dict[str, Any] = {}
                stream: Any = graph.astream(
                    None if resume else {},
                    run_config,
                    context=DistillContext(resources=resources),
                    stream_mode=["custom", "values"],
                    durability="sync",
                )
                async for mode, chunk in stream:
                    if mode == "custom" and on_event is not None:
                        on_event(parse_event(chunk))
                    elif mode == "values":
                        values = chunk
            log.info("run finished: %s", values.get("metrics", {}).get("stop_reason"))
    finally:
        # Traces are sent by a background thread; make sure they leave before we return.
        from langchain_core.tracers.langchain import wait_for_all_tracers

        await anyio.to_thread.run_sync(wait_for_all_tracers)
    return result_from_state(values, path)


def check_checkpoints(path: Path) -> None:
    """Refuse, in one line, a checkpoint file that is not a readable SQLite database."""
    import sqlite3

    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            db.execute("SELECT name FROM sqlite_master").fetchall()
    except sqlite3.DatabaseError as error:
        raise ConfigError(f"{path}: not a checkpoint database ({error})") from None


def result_from_state(values: dict[str, Any], run_dir: Path) -> DistillResult:
    """The result record from the graph's final values."""
    report = values.get("report_path")
    return DistillResult(
        optimized_prompt=values.get("optimized_prompt", ""),
        rules=[Rule.model_validate(rule) for rule in values.get("rules", [])],
        metrics=RunMetrics.model_validate(values.get("metrics", {})),
        run_dir=Path(values.get("run_dir") or run_dir),
        report_path=Path(report) if report else None,
    )


def distill_sync(config: Config, **options: Any) -> DistillResult:
    """`distill` for callers without an event loop."""

    async def run() -> DistillResult:
        return await distill(config, **options)

    return anyio.run(run)
