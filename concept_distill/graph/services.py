"""What the nodes use: the data, the agents and the run directory, started on first use.

Nodes reach agents only through their contracts, so tests and embedding apps inject their own
(`build_graph(config, student=..., teacher=..., verifier=...)`); whatever is not injected comes
from a `Runtime` built from the config (models, local server, sandbox), started lazily so that
nothing connects when the graph is built, and closed by `aclose()`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer

from concept_distill.agents.student import Student
from concept_distill.agents.teacher import Teacher
from concept_distill.agents.verifier import Verifier
from concept_distill.config import Config
from concept_distill.loop.evaluation import Evaluation, evaluate
from concept_distill.models import SpendReport
from concept_distill.records import Example, ExampleResult
from concept_distill.report import RunDirectory
from concept_distill.runtime import Runtime
from concept_distill.tasks.splits import SplitName


class Services:
    """Agents, data and run directory for one distillation run."""

    def __init__(
        self,
        config: Config,
        *,
        run_dir: Path | None = None,
        student: Student | None = None,
        teacher: Teacher | None = None,
        verifier: Verifier | None = None,
    ) -> None:
        self.config = config
        self._run_path = run_dir
        self._student, self._teacher, self._verifier = student, teacher, verifier
        self._runtime: Runtime | None = None
        self._lock = anyio.Lock()
        self.run_dir: RunDirectory | None = None
        self.started = time.monotonic()

    async def ready(self) -> Runtime:
        """Load data and connect whatever was not injected (once)."""
        async with self._lock:
            if self._runtime is None:
                roles = tuple(
                    role
                    for role, agent in (("student", self._student), ("teacher", self._teacher))
                    if agent is None
                )
                runtime = Runtime(self.config, roles=roles, sandbox=self._verifier is None)
                await runtime.__aenter__()
                self._runtime = runtime
            if self.run_dir is None:
                self.run_dir = await self._open_run_dir()
        return self._runtime

    async def _open_run_dir(self) -> RunDirectory:
        if self._run_path is not None:
            path = self._run_path
            await anyio.to_thread.run_sync(lambda: path.mkdir(parents=True, exist_ok=True))
            return RunDirectory(path)
        label = f"distill-{self.config.task.name}"
        return await anyio.to_thread.run_sync(RunDirectory.create, self.config.run_dir, label)

    async def aclose(self) -> None:
        """Stop the runtime (local server, sandbox, cache)."""
        runtime, self._runtime = self._runtime, None
        if runtime is not None:
            await runtime.__aexit__(None, None, None)

    def runtime(self) -> Runtime:
        """The started runtime."""
        assert self._runtime is not None, "call ready() first"
        return self._runtime

    def split(self, name: SplitName) -> list[Example]:
        """The examples of one split."""
        return self.runtime().splits[name]

    def examples(self) -> dict[str, Example]:
        """Every example by id."""
        return self.runtime().examples()

    def student(self) -> Student:
        """The injected student, or the config's."""
        return self._student or self.runtime().student()

    def verifier(self) -> Verifier:
        """The injected verifier, or the config's."""
        return self._verifier or self.runtime().verifier()

    def teacher(self) -> Teacher:
        """The injected teacher, or the config's."""
        if self._teacher is None:
            models = self.runtime().models
            if models is None or "teacher" not in models:
                from concept_distill.errors import ConfigError

                raise ConfigError("the config has no teacher model (models.teacher)")
            self._teacher = Teacher(
                models["teacher"], self.runtime().task, max_rules=self.config.loop.rules_per_batch
            )
        return self._teacher

    def spend(self) -> SpendReport:
        """Spend of every role so far (injected agents report their own)."""
        roles = {}
        for role, agent in (("student", self._student), ("teacher", self._teacher)):
            if agent is not None:
                roles[role] = agent.model.spend()
        models = self._runtime.models if self._runtime else None
        if models is not None:
            for role in models:
                roles.setdefault(role, models[role].spend())
        return SpendReport(roles=roles)

    async def evaluate(
        self, label: str, prompt: str, examples: Sequence[Example], config: RunnableConfig
    ) -> Evaluation:
        """Evaluate, stream progress events, and save the per-example results."""
        writer = _writer()
        total, done = len(examples), 0

        def progress(result: ExampleResult) -> None:
            nonlocal done
            done += 1
            writer({"event": "example", "label": label, "done": done, "total": total})

        evaluation = await evaluate(
            prompt,
            examples,
            student=self.student(),
            verifier=self.verifier(),
            concurrency=self.config.concurrency,
            on_result=progress,
            config=config,
        )
        assert self.run_dir is not None
        await self.run_dir.write_jsonl(f"results/{label}.jsonl", evaluation.results)
        return evaluation

    def emit(self, event: dict[str, Any]) -> None:
        """A custom stream event for live progress views."""
        _writer()(event)


def _writer() -> Any:
    try:
        return get_stream_writer()
    except (RuntimeError, KeyError):
        return lambda _event: None
