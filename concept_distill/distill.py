"""The Python API: `await distill(config)` runs (or resumes) a distillation and returns its result.

Every run has a directory holding its checkpoints (SQLite, LangGraph's own saver), so a run that
was interrupted (Ctrl-C, crash, kill -9) continues from its last checkpoint with `resume=True`;
with the response cache, no completed model call is paid twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from pydantic import BaseModel, ConfigDict

from concept_distill.agents.student import Student
from concept_distill.agents.teacher import Teacher
from concept_distill.agents.verifier import Verifier
from concept_distill.config import Config
from concept_distill.errors import ConfigError
from concept_distill.graph.builder import build_graph
from concept_distill.graph.services import Services
from concept_distill.records import Rule

CHECKPOINTS = "checkpoints.sqlite"
THREAD_ID = "distill"
EventCallback = Callable[[dict[str, Any]], None]


class DistillResult(BaseModel):
    """What a finished run produced."""

    model_config = ConfigDict(frozen=True)

    optimized_prompt: str
    rules: list[Rule]
    metrics: dict[str, Any]
    run_dir: Path

    @property
    def accepted_rules(self) -> list[Rule]:
        """Rules that made it into the prompt, in order."""
        return [rule for rule in self.rules if rule.status == "accepted"]


def new_run_dir(config: Config) -> Path:
    """A fresh run directory under `config.run_dir`."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    root = config.run_dir
    for attempt in range(1000):
        path = root / f"{stamp}-distill-{config.task.name}{f'-{attempt}' if attempt else ''}"
        try:
            path.mkdir(parents=True)
        except FileExistsError:
            continue
        return path
    raise ConfigError(f"cannot create a run directory under {root}")


async def distill(
    config: Config,
    *,
    run_dir: Path | None = None,
    resume: bool = False,
    student: Student | None = None,
    teacher: Teacher | None = None,
    verifier: Verifier | None = None,
    on_event: EventCallback | None = None,
) -> DistillResult:
    """Run the graph to the end (or resume it) and return the result."""
    if resume and (run_dir is None or not await anyio.Path(run_dir, CHECKPOINTS).exists()):
        raise ConfigError(f"nothing to resume: no {CHECKPOINTS} in {run_dir}")
    path = run_dir if run_dir is not None else await anyio.to_thread.run_sync(new_run_dir, config)
    await anyio.to_thread.run_sync(lambda: path.mkdir(parents=True, exist_ok=True))
    services = Services(config, run_dir=path, student=student, teacher=teacher, verifier=verifier)
    try:
        async with AsyncSqliteSaver.from_conn_string(str(path / CHECKPOINTS)) as saver:
            graph = build_graph(config, checkpointer=saver, services=services)
            run_config: Any = {
                "configurable": {"thread_id": THREAD_ID},
                "recursion_limit": 40 * config.loop.max_iterations + 20,
                "max_concurrency": config.loop.batches_per_round,
                "tags": ["concept-distill", f"task:{config.task.name}"],
                "metadata": {"run_dir": str(path)},
            }
            values: dict[str, Any] = {}
            stream: Any = graph.astream(
                None if resume else {},
                run_config,
                stream_mode=["custom", "values"],
                durability="sync",
            )
            async for mode, chunk in stream:
                if mode == "custom" and on_event is not None:
                    on_event(chunk)
                elif mode == "values":
                    values = chunk
    finally:
        await services.aclose()
        # Traces are sent by a background thread; make sure they leave before we return.
        from langchain_core.tracers.langchain import wait_for_all_tracers

        await anyio.to_thread.run_sync(wait_for_all_tracers)
    return DistillResult(
        optimized_prompt=values.get("optimized_prompt", ""),
        rules=list(values.get("rules", [])),
        metrics=dict(values.get("metrics", {})),
        run_dir=path,
    )


def distill_sync(config: Config, **options: Any) -> DistillResult:
    """`distill` for callers without an event loop."""

    async def run() -> DistillResult:
        return await distill(config, **options)

    return anyio.run(run)
