"""Everything a run needs, built from a config: task, splits, models, sandbox, agents.

Used by `concept-distill eval` and by the distillation graph, so both judge the same way.
The embedded local server is started here when a role says `local`, and stopped on exit.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from types import TracebackType

import anyio

from concept_distill.agents.student import ChatStudent
from concept_distill.agents.verifier import TaskVerifier
from concept_distill.config import Config, LocalRole
from concept_distill.models import ModelConfig, ModelSet
from concept_distill.records import Example
from concept_distill.sandbox import Sandbox
from concept_distill.tasks import Task, build_task, make_splits
from concept_distill.tasks.splits import SplitName


class Runtime:
    """`async with Runtime(config) as runtime:` loads data (before any model call) and connects."""

    def __init__(
        self,
        config: Config,
        *,
        roles: tuple[str, ...] = ("student", "teacher"),
        sandbox: bool = True,
    ) -> None:
        self.config = config
        self._roles = roles
        self._want_sandbox = sandbox
        self.task: Task = build_task(
            config.task.name,
            path=config.task.path,
            data_dir=config.task.data_dir,
            scorer=config.task.scorer,
            fields=config.task.fields,
            description=config.task.description,
            tolerance=config.task.tolerance,
        )
        self.splits: dict[SplitName, list[Example]] = {}
        self.models: ModelSet | None = None
        self.sandbox: Sandbox | None = None
        self.model_configs: dict[str, ModelConfig] = {}
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Runtime:
        examples = await anyio.to_thread.run_sync(self.task.load)
        self.splits = make_splits(examples, self.config.splits)
        try:
            await self._connect()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def _connect(self) -> None:
        specs = {"student": self.config.models.student, "teacher": self.config.models.teacher}
        roles = {role: spec for role, spec in specs.items() if spec and role in self._roles}
        local = {role: spec for role, spec in roles.items() if isinstance(spec, LocalRole)}
        resolved = {role: spec for role, spec in roles.items() if isinstance(spec, ModelConfig)}
        if local:
            from concept_distill.local.roles import serve_local_roles

            served = await self._stack.enter_async_context(
                serve_local_roles(local, self.config.local_server)
            )
            resolved.update(served)
        self.model_configs = resolved
        cache = self.config.response_cache()
        await anyio.to_thread.run_sync(lambda: cache.parent.mkdir(parents=True, exist_ok=True))
        # Building the clients reads CA bundles and sets up HTTP pools: off the event loop.
        models = await anyio.to_thread.run_sync(lambda: ModelSet(resolved, cache_path=cache))
        self.models = await self._stack.enter_async_context(models)
        if self.task.checks_code and self._want_sandbox:
            self.sandbox = await self._stack.enter_async_context(Sandbox(self.config.sandbox))

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    def student(self) -> ChatStudent:
        """The student agent."""
        assert self.models is not None, "use the runtime as an async context manager"
        return ChatStudent(self.models["student"], self.task)

    def examples(self) -> dict[str, Example]:
        """Every example of the splits, by id."""
        return {example.id: example for split in self.splits.values() for example in split}

    def verifier(self) -> TaskVerifier:
        """The verifier agent."""
        return TaskVerifier(self.task, self.sandbox)
