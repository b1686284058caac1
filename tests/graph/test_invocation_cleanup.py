"""A graph that opened its own resources closes them when the invocation ends badly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from support.fakes import make_config
from support.roles import proposing_teacher

from concept_distill.graph import build_graph
from concept_distill.graph.scope import owned_runs
from concept_distill.testing import ScriptedChatModel

pytestmark = pytest.mark.anyio


class Stuck(ScriptedChatModel):
    """A student whose calls never return (until cancelled)."""

    async def complete(self, messages: Any, **options: Any) -> Any:
        await anyio.sleep_forever()


class Broken(ScriptedChatModel):
    """A student whose calls fail with a bug (not a model error): the invocation fails."""

    async def complete(self, messages: Any, **options: Any) -> Any:
        raise RuntimeError("a bug in the student")


def messages(error: BaseException) -> str:
    """The message of an error and of every error inside it (exception groups)."""
    inner = getattr(error, "exceptions", ())
    return " | ".join([str(error), *(messages(e) for e in inner)])


async def test_a_cancelled_invocation_releases_its_resources(tmp_path: Path) -> None:
    graph = build_graph(make_config(tmp_path), student=Stuck(role="student"),
                        teacher=proposing_teacher())  # fmt: skip
    with anyio.move_on_after(2) as scope:
        await graph.ainvoke({})
    assert scope.cancelled_caught
    assert owned_runs() == []


async def test_a_failed_invocation_releases_its_resources_and_the_graph_runs_again(
    tmp_path: Path,
) -> None:
    graph = build_graph(make_config(tmp_path), student=Broken(role="student"),
                        teacher=proposing_teacher())  # fmt: skip
    for _ in range(2):
        with pytest.raises(Exception) as raised:
            await graph.ainvoke({})
        assert "a bug in the student" in messages(raised.value)
        assert owned_runs() == []
