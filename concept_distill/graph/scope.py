"""Where a node finds its invocation's `RunResources`.

Two cases. A caller that entered `RunResources` itself (`distill()`, an embedding app) passes it
in the LangGraph runtime context, and only that caller closes it. Otherwise (LangGraph Server,
Studio, a plain `ainvoke` of `build_graph(config)`) the graph owns them: the first node of the
invocation that needs them opens them (a fresh run directory on a new input; the one in the
state on a resume), they are kept here under their run directory, which is unique to the run,
and they are closed when the invocation ends: by the last node, or by whichever node fails or
is cancelled, since that ends the invocation too. So a compiled graph holds no open resource
between invocations, and concurrent invocations (other threads) each have their own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from concept_distill.agents.contracts import Student, Teacher, Verifier
from concept_distill.config import Config
from concept_distill.graph.resources import CURRENT_RUN, RoleInput, RunResources

T = TypeVar("T")


@dataclass
class DistillContext:
    """Per-invocation dependencies, given as `context=` when invoking the graph.

    Both fields are optional: LangGraph Server and Studio pass JSON (at most `run_dir`).
    """

    resources: RunResources | None = None
    """Resources the caller entered and will close; None: the graph opens its own."""
    run_dir: str | None = None
    """Where a new run's directory goes; None: a fresh directory under the config's run_dir."""


@dataclass(frozen=True)
class GraphSetup:
    """What `build_graph` was given: the config and any agents or models to use instead."""

    config: Config
    student: Student | RoleInput | None = None
    teacher: Teacher | RoleInput | None = None
    verifier: Verifier | None = None

    def resources(self, run_dir: Path | None) -> RunResources:
        """Unopened resources for one invocation."""
        return RunResources(
            self.config,
            run_dir=run_dir,
            student=self.student,
            teacher=self.teacher,
            verifier=self.verifier,
        )


_OWNED: dict[str, RunResources] = {}
_CLOSING: set[asyncio.Task[None]] = set()
"""Closings under way (kept referenced until done: the event loop holds tasks only weakly)."""
_LOCK = anyio.Lock()


async def resources_for(
    setup: GraphSetup, runtime: Runtime[DistillContext], run_dir: str | None
) -> RunResources:
    """This invocation's resources: the caller's, or the graph's own (opened on first use)."""
    context = runtime.context
    if context is not None and context.resources is not None:
        resources = context.resources
    else:
        resources = await _owned(setup, run_dir, context.run_dir if context else None)
    CURRENT_RUN.set(str(resources.directory.path))
    return resources


async def _owned(setup: GraphSetup, run_dir: str | None, requested: str | None) -> RunResources:
    """The graph's own resources for `run_dir`, opened here if this process has none yet."""
    async with _LOCK:
        found = _OWNED.get(run_dir) if run_dir else None
        if found is not None:
            return found
        path = run_dir or requested
        resources = setup.resources(Path(path) if path else None)
        await resources.__aenter__()
        _OWNED[str(resources.directory.path)] = resources
        return resources


async def release(runtime: Runtime[DistillContext], run_dir: str | None) -> None:
    """Close the graph's own resources for this run (the caller's are left to the caller)."""
    if run_dir is None:
        return
    context = runtime.context
    if context is not None and context.resources is not None:
        return
    async with _LOCK:
        resources = _OWNED.pop(run_dir, None)
    if resources is not None:
        with anyio.CancelScope(shield=True):
            await resources.__aexit__(None, None, None)


async def _release_even_if_cancelled(runtime: Runtime[DistillContext], run_dir: str | None) -> None:
    """`release` in a task of its own, which a cancellation cannot interrupt half-way.

    LangGraph cancels a node's asyncio task, possibly more than once; an anyio shield does not
    hold against that, a shielded task does.
    """
    closing = asyncio.get_running_loop().create_task(release(runtime, run_dir))
    _CLOSING.add(closing)
    closing.add_done_callback(_CLOSING.discard)
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.shield(closing)


def owned_runs() -> list[str]:
    """Run directories whose resources the graph holds open now (for tests and diagnostics)."""
    return sorted(_OWNED)


def closing_on_failure(
    node: Callable[..., Awaitable[T]], run_dir_of: Callable[[Any], str | None]
) -> Callable[..., Awaitable[T]]:
    """Wrap a node so that its failure or cancellation closes the graph's own resources.

    A node that fails or is cancelled ends the invocation, so this is where it ends.
    """

    async def wrapped(state: Any, config: RunnableConfig, runtime: Runtime[DistillContext]) -> T:
        try:
            return await node(state, config, runtime)
        except BaseException:
            await _release_even_if_cancelled(runtime, run_dir_of(state) or CURRENT_RUN.get())
            raise

    wrapped.__name__ = getattr(node, "__name__", "node")
    wrapped.__doc__ = node.__doc__
    return wrapped
