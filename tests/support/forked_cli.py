"""Real CLI runs in processes of their own, without paying the imports again for each one.

`python -m concept_distill.cli run` spends most of its start-up importing LangGraph, LangChain
and the HTTP clients (seconds on a slow machine). Tests that start many runs (kill, resume, kill
again) fork them instead from a "zygote": one helper process that imports all that once and then,
for each order, forks a process that calls the CLI's `main(argv)` with its output in a file. Each
run is a process of its own, so `kill -9` of its pid is a real crash; the zygote runs nothing
itself, so every run starts clean. The zygote is single-threaded when it forks (checked at start),
as `fork` requires.

Between the zygote and each run stands a small waiter process (the zygote's child, the run's
parent) that reports the run's pid and, when it ends, its exit status, so that several runs can
go at once while the zygote keeps taking orders.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

ZYGOTE = r"""
import json, os, signal, sys, threading, traceback

from concept_distill.cli import _register_subcommands, main
import concept_distill.cli.progress, concept_distill.cli.run, concept_distill.distillation
import concept_distill.graph.builder, langgraph.checkpoint.sqlite.aio

_register_subcommands()


def say(**message):
    os.write(1, (json.dumps(message) + "\n").encode())  # one write: lines never interleave


def run(order):
    code = 1
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        output = os.open(order["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(null, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.environ.update(order["env"])
        code = main(order["argv"])
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


say(ready=threading.active_count())
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the zygote never waits: waiters are reaped
for line in sys.stdin:
    order = json.loads(line)
    if os.fork() == 0:  # the waiter
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # inherited by the run: it may wait too
        pid = os.fork()
        if pid == 0:
            run(order)
        say(id=order["id"], pid=pid)
        _, status = os.waitpid(pid, 0)
        say(id=order["id"], exit=os.waitstatus_to_exitcode(status))
        os._exit(0)
"""


@dataclass
class Run:
    """One forked CLI run: its pid, and its exit code once `ended` is set."""

    pid: int = 0
    exit_code: int | None = None
    started: anyio.Event = field(default_factory=anyio.Event)
    ended: anyio.Event = field(default_factory=anyio.Event)

    async def wait(self) -> int:
        """The exit code (negative: killed by that signal, -9 for kill -9)."""
        await self.ended.wait()
        assert self.exit_code is not None
        return self.exit_code


class ForkedCLI:
    """Starts `concept-distill ARGV` runs; see `forked_cli()`."""

    def __init__(self, zygote: Process) -> None:
        self._zygote = zygote
        self._runs: dict[int, Run] = {}
        self._ids = 0
        self._lock = anyio.Lock()

    async def start(self, argv: list[str], output: Path, env: dict[str, str] | None = None) -> Run:
        """Fork a run of `concept-distill ARGV`, stdout and stderr to `output`; once it has a pid."""
        assert self._zygote.stdin is not None
        async with self._lock:
            self._ids += 1
            run = self._runs[self._ids] = Run()
            order = {"id": self._ids, "argv": argv, "output": str(output), "env": env or {}}
            await self._zygote.stdin.send((json.dumps(order) + "\n").encode())
        await run.started.wait()
        return run

    async def run(self, argv: list[str], output: Path, env: dict[str, str] | None = None) -> int:
        """Start a run and wait for it: its exit code."""
        return await (await self.start(argv, output, env)).wait()

    async def _dispatch(self, lines: BufferedByteReceiveStream) -> None:
        while True:
            try:
                message: dict[str, Any] = json.loads(await lines.receive_until(b"\n", 1 << 16))
            except (anyio.EndOfStream, anyio.IncompleteRead):
                return
            run = self._runs[message["id"]]
            if "pid" in message:
                run.pid = message["pid"]
                run.started.set()
            else:
                run.exit_code = message["exit"]
                run.ended.set()


@asynccontextmanager
async def forked_cli() -> AsyncIterator[ForkedCLI]:
    """A zygote for the duration of the block (runs still going at its end are not stopped)."""
    zygote = await anyio.open_process([sys.executable, "-c", ZYGOTE])
    try:
        assert zygote.stdout is not None and zygote.stdin is not None
        lines = BufferedByteReceiveStream(zygote.stdout)
        ready = json.loads(await lines.receive_until(b"\n", 1 << 16))
        assert ready == {"ready": 1}, f"the zygote must be single-threaded to fork: {ready}"
        cli = ForkedCLI(zygote)
        async with anyio.create_task_group() as group:
            group.start_soon(cli._dispatch, lines)
            try:
                yield cli
            finally:
                await zygote.stdin.aclose()  # the zygote ends (waiters of live runs do not)
                group.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            with anyio.move_on_after(10):
                await zygote.wait()
            if zygote.returncode is None:
                zygote.kill()
                await zygote.wait()
