"""The Python API: `await distill(config)` runs (or resumes) a distillation and returns its result.

`distill` is the owner of the run's resources: it enters `RunResources` (which chooses and
creates the run directory, and opens the shared database with `storage.backend: postgres`), opens
the run's checkpoints (LangGraph's SQLite saver in the run directory, or its PostgreSQL saver on
the thread named by the run id), and runs the graph with the resources in its context. A run that
was interrupted (Ctrl-C, a crash, kill -9) continues from its last checkpoint with `resume=True`;
with the response cache and the call ledger, no completed model call is paid twice and spend
covers the whole run. With PostgreSQL, the resume may happen on another host, in an empty run
directory: `run_id` names the run there.
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
from concept_distill.graph.resources import CHECKPOINTS, RoleInput, RunResources
from concept_distill.records import Rule, RunMetrics

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
    run_id: str | None = None,
    student: Student | RoleInput | None = None,
    teacher: Teacher | RoleInput | None = None,
    verifier: Verifier | None = None,
    on_event: EventCallback | None = None,
) -> DistillResult:
    """Run the graph to the end (or resume it in `run_dir`) and return the result.

    `run_dir` names the run directory (created if missing); without it a fresh one is made
    under `config.run_dir`. Each role may be an agent, a LangChain chat model or a `ChatRole`.
    `run_id` names the run in a shared database (`storage.backend: postgres`; default: the run
    directory's name); resuming it there needs neither its checkpoints nor its directory here.
    """
    from concept_distill.config import config_as_yaml
    from concept_distill.graph.builder import build_graph
    from concept_distill.graph.scope import DistillContext
    from concept_distill.tasks import split_assignment

    in_files = config.storage.backend == "sqlite"
    if resume:
        await check_resumable(in_files, run_dir, run_id)
    resources = RunResources(
        config,
        run_dir=run_dir,
        run_id=run_id,
        fresh=None if in_files else not resume,
        student=student,
        teacher=teacher,
        verifier=verifier,
    )
    try:
        async with resources:
            path = resources.directory.path
            log.info("run %s in %s", "resumed" if resume else "started", path)
            storage, config_file = resources.storage, anyio.Path(path, "config.yaml")
            if resume and storage is not None and not await config_file.exists():
                # Another host started it: this directory gets the config the run is using, its
                # splits (both follow from the config) and the results of the evaluations that
                # host finished (kept in the database); the final outputs are written here.
                await resources.directory.write_text("config.yaml", config_as_yaml(config))
                splits = split_assignment(resources.splits)
                await resources.directory.write_json("splits.json", splits)
                for name, text in (await storage.outputs(resources.run_id)).items():
                    await resources.directory.write_text(name, text)
            async with resources.checkpointer() as saver:
                graph = build_graph(config, checkpointer=saver)
                run_config: Any = {
                    "configurable": {"thread_id": resources.thread_id},
                    "recursion_limit": recursion_limit(config),
                    "max_concurrency": config.loop.batches_per_round,
                    "tags": ["concept-distill", f"task:{config.task.name}"],
                    "metadata": {"run_dir": str(path)},
                }
                values: dict[str, Any] = {}
                # A run killed before its first checkpoint has nothing to continue: it starts.
                started = resume and await saver.aget_tuple(run_config) is not None
                stream: Any = graph.astream(
                    None if started else {},
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


async def check_resumable(in_files: bool, run_dir: Path | None, run_id: str | None) -> None:
    """Refuse, before anything is opened, a resume that has nothing to continue from.

    In files, the run directory must hold a readable `checkpoints.sqlite`; in a database, the
    run must be named (its id is checked there when the storage opens).
    """
    if not in_files:
        if run_dir is None and run_id is None:
            raise ConfigError("nothing to resume: give the run directory or the run id")
        return
    if run_dir is None or not await anyio.Path(run_dir, CHECKPOINTS).is_file():
        raise ConfigError(f"nothing to resume: no {CHECKPOINTS} in {run_dir}")
    await anyio.to_thread.run_sync(check_checkpoints, run_dir / CHECKPOINTS)


def check_checkpoints(path: Path) -> None:
    """Refuse, in one line, a checkpoint file that is not a readable SQLite database."""
    import sqlite3

    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            db.execute("SELECT name FROM sqlite_master").fetchall()
    except sqlite3.DatabaseError as error:
        raise ConfigError(f"{path}: not a checkpoint database ({error})") from None


def result_from_state(values: dict[str, Any], run_dir: Path) -> DistillResult:
    """The result record from the graph's final values, for the run directory `run_dir`."""
    report = values.get("report_path")
    return DistillResult(
        optimized_prompt=values.get("optimized_prompt", ""),
        rules=[Rule.model_validate(rule) for rule in values.get("rules", [])],
        metrics=RunMetrics.model_validate(values.get("metrics", {})),
        # The directory this process wrote: a run resumed on another host has a new one.
        run_dir=run_dir,
        report_path=Path(report) if report else None,
    )


def distill_sync(config: Config, **options: Any) -> DistillResult:
    """`distill` for callers without an event loop."""

    async def run() -> DistillResult:
        return await distill(config, **options)

    return anyio.run(run)
