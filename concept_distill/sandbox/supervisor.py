"""The async sandbox: a pool of warm slots, each running one program at a time."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from pydantic import BaseModel, ConfigDict

from concept_distill.errors import SandboxUnavailable
from concept_distill.sandbox.isolation import (
    IsolationReport,
    LaunchPlan,
    Layer,
    plan_launch,
    stage_server_files,
    without_bwrap,
)
from concept_distill.sandbox.limits import SandboxLimits
from concept_distill.sandbox.slot import Slot, SlotBroken
from concept_distill.sandbox.verdict import Verdict, decide

_PER_PROGRAM_LAYERS = (
    ("namespaces", "namespaces", "user, PID and mount namespaces per program", True),
    ("private_mounts", "private mounts", "private sized /tmp and /dev/shm, /proc hidden", True),
    ("capabilities_dropped", "no capabilities", "all dropped, no new privileges", True),
    ("seccomp", "seccomp", "a filter kills escape-only system calls", False),
    ("cgroup", "memory cgroup", "memory and process count bounded per slot, OOM seen", False),
)


class SandboxJob(BaseModel):
    """One program and the tests that judge it."""

    model_config = ConfigDict(frozen=True)

    program: str
    tests: str
    entry_point: str | None = None
    trusted: str = ""


class VerdictBatch(BaseModel):
    """Verdicts in input order, with the isolation they were obtained under."""

    model_config = ConfigDict(frozen=True)

    verdicts: list[Verdict]
    isolation: IsolationReport


class Sandbox:
    """Runs candidate programs against tests; never blocks the event loop.

    Use as `async with Sandbox(limits) as sandbox: verdict = await sandbox.run(...)`.
    Refuses to start (SandboxUnavailable) when a required isolation layer is missing, unless
    `limits.allow_weak_isolation` is set.
    """

    def __init__(self, limits: SandboxLimits | None = None) -> None:
        self.limits = limits or SandboxLimits()
        self._job_limits = self.limits.for_job()
        self._slots: list[Slot] = []
        self._stage: Path | None = None
        self._plan: LaunchPlan | None = None
        self._isolation: IsolationReport | None = None
        send, receive = anyio.create_memory_object_stream[Slot](self.limits.job_count)
        self._idle_send: MemoryObjectSendStream[Slot] = send
        self._idle_receive: MemoryObjectReceiveStream[Slot] = receive
        self._threads = anyio.CapacityLimiter(self.limits.job_count)

    @property
    def isolation(self) -> IsolationReport:
        """The layers active in this sandbox (after start)."""
        if self._isolation is None:
            raise RuntimeError("the sandbox has not been started")
        return self._isolation

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Start every slot and check the isolation they got."""
        plan = plan_launch(self.limits)
        stage = Path(await anyio.to_thread.run_sync(tempfile.mkdtemp, "", "cd-sandbox-"))
        self._stage = await anyio.to_thread.run_sync(stage_server_files, stage)
        try:
            first = await self._start_slot(0, plan)
        except SlotBroken as error:
            if not plan.bwrap:
                raise SandboxUnavailable(f"the sandbox cannot start: {error}") from error
            plan = without_bwrap(plan, f"bwrap failed to start here: {error}")
            first = await self._start_slot(0, plan)
        self._plan = plan
        self._isolation = _report(plan, {**first.layers, "cgroup": first.cgroup_state})
        if not self._isolation.strong and not self.limits.allow_weak_isolation:
            await self.aclose()
            missing = ", ".join(self.isolation.missing)
            raise SandboxUnavailable(
                f"refusing to run with weak isolation (missing: {missing}); see "
                "`concept-distill sandbox --doctor`, or allow it with --allow-weak-isolation"
            )
        for index in range(1, self.limits.job_count):
            await self._start_slot(index, plan)

    async def _start_slot(self, index: int, plan: LaunchPlan) -> Slot:
        assert self._stage is not None
        slot = Slot(
            index, plan, self._stage, self.limits.uid_base, self._job_limits["tmp_bytes"],
            self.limits.processes,
        )  # fmt: skip
        try:
            await anyio.to_thread.run_sync(slot.handshake, limiter=self._threads)
        except SlotBroken:
            await anyio.to_thread.run_sync(slot.stop)
            raise
        self._slots.append(slot)
        self._idle_send.send_nowait(slot)
        return slot

    async def aclose(self) -> None:
        """Stop every slot and remove the staged server files."""
        slots, self._slots = self._slots, []
        for slot in slots:
            await anyio.to_thread.run_sync(slot.stop)
        if self._stage is not None:
            await anyio.to_thread.run_sync(shutil.rmtree, self._stage, True)
            self._stage = None

    async def run(
        self,
        program: str,
        tests: str,
        *,
        entry_point: str | None = None,
        trusted: str = "",
        timeout_s: float | None = None,
        memory_mb: int | None = None,
    ) -> Verdict:
        """Run one program against its tests and return the verdict.

        `trusted` is code the tests may use that the candidate cannot change (HumanEval's helper
        functions from the prompt): it runs on the trusted side and its names are never stubbed.
        `timeout_s` and `memory_mb` override the sandbox's limits for this program only.
        """
        limits = self._job_limits
        if timeout_s is not None or memory_mb is not None:
            update = {"timeout_s": timeout_s or self.limits.timeout_s}
            update["memory_mb"] = memory_mb or self.limits.memory_mb
            limits = SandboxLimits.model_validate({**self.limits.model_dump(), **update}).for_job()
        slot = await self._idle_receive.receive()
        try:
            try:
                return await self._run_in(slot, program, tests, entry_point, trusted, limits)
            except SlotBroken:
                slot = await self._replace(slot)
                return await self._run_in(slot, program, tests, entry_point, trusted, limits)
        except SlotBroken as error:
            raise SandboxUnavailable(f"the sandbox keeps failing: {error}") from error
        finally:
            self._idle_send.send_nowait(slot)

    async def _run_in(
        self,
        slot: Slot,
        program: str,
        tests: str,
        entry: str | None,
        trusted: str,
        limits: dict[str, Any],
    ) -> Verdict:
        reports = await anyio.to_thread.run_sync(
            slot.run, program, tests, entry, trusted, limits, limiter=self._threads
        )
        candidate, test, duration = reports
        return decide(candidate, test, limits, duration)

    async def _replace(self, slot: Slot) -> Slot:
        """Restart a broken slot (from the event-loop thread, see slot.py)."""
        assert self._plan is not None
        await anyio.to_thread.run_sync(slot.stop)
        self._slots.remove(slot)
        fresh = Slot(
            slot.index,
            self._plan,
            self._stage or Path(),
            self.limits.uid_base,
            self._job_limits["tmp_bytes"],
            self.limits.processes,
        )
        await anyio.to_thread.run_sync(fresh.handshake, limiter=self._threads)
        self._slots.append(fresh)
        return fresh

    async def run_many(self, jobs: Iterable[SandboxJob]) -> VerdictBatch:
        """Run many jobs, as many at once as there are slots; verdicts come back in order."""
        items: Sequence[SandboxJob] = list(jobs)
        verdicts: list[Verdict | None] = [None] * len(items)

        async def one(index: int, job: SandboxJob) -> None:
            verdicts[index] = await self.run(
                job.program, job.tests, entry_point=job.entry_point, trusted=job.trusted
            )

        async with anyio.create_task_group() as group:
            for index, job in enumerate(items):
                group.start_soon(one, index, job)
        done = [verdict for verdict in verdicts if verdict is not None]
        return VerdictBatch(verdicts=done, isolation=self.isolation)


def _report(plan: LaunchPlan, layers: dict[str, str]) -> IsolationReport:
    found = [
        Layer(name="process per program", active=True, detail="a fresh fork per program"),
        plan.bwrap_layer(),
        plan.uid_layer(),
    ]
    for key, name, description, required in _PER_PROGRAM_LAYERS:
        state = layers.get(key, "not probed")
        detail = description if state == "ok" else state
        found.append(Layer(name=name, active=state == "ok", detail=detail, required=required))
    found += [
        Layer(
            name="rlimits", active=True, detail="address space, CPU, file size, files, processes"
        ),
        Layer(name="empty environment", active=True, detail="no variable of the parent passes"),
        Layer(name="output cap", active=True, detail="counted by the monitor, not the program"),
    ]
    return IsolationReport(layers=found)
