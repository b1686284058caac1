"""The run's durable call record, the budget gate, and spend derived from the record.

Every reply is written down as it arrives and budgets are checked before every call, so spend
survives a crash and a resume.

`CallLedger` appends one JSON line per reply (or failure) to `calls.jsonl` in the run directory,
from a worker thread, flushed before the call returns: a `kill -9` inside a node loses no call
it already paid for. A resumed process reads the file back, so spend, budgets and elapsed time
cover the whole run across processes. `LedgeredRole` wraps any `ChatRole` (the package's
`RoleModel`, a wrapped LangChain model, a user's own) so the record and the budget gate apply to
every role the same way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal, TypeVar

import anyio
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ConfigDict, Field

from concept_distill.errors import ConceptDistillError, ModelError, ModelUnavailable
from concept_distill.models.accounting import Spend, SpendReport
from concept_distill.models.messages import MessagesInput
from concept_distill.models.protocol import ChatRole
from concept_distill.models.replies import ChatReply, SchemaT, StructuredResult

LEDGER_FILE = "calls.jsonl"
_T = TypeVar("_T")


class BudgetExhausted(ConceptDistillError):
    """A budget is spent: no new paid call starts (calls already in flight finish)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CallRecord(BaseModel):
    """One line of the ledger: a reply, a failed call, or the start of a process's session."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["reply", "failed", "session"]
    at: float = Field(description="Wall-clock time (Unix seconds) when it was recorded.")
    role: str = ""
    model: str = ""
    cached: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usage_known: bool = True
    retries: int = 0
    cost_usd: float | None = None


class RunTotals(BaseModel):
    """Spend of the whole run so far, by role, and the time spent running (all processes)."""

    model_config = ConfigDict(frozen=True)

    roles: dict[str, Spend] = Field(default_factory=dict, description="Spend by role.")
    elapsed_s: float = Field(0.0, description="Seconds of running time, summed over sessions.")

    def role(self, name: str) -> Spend:
        """One role's spend (empty when it made no call)."""
        return self.roles.get(name) or Spend(role=name)

    @property
    def cost_usd(self) -> float:
        """Summed cost of the roles that have prices (0 when none has)."""
        return sum(spend.cost_usd or 0.0 for spend in self.roles.values())

    def report(self) -> SpendReport:
        """The `SpendReport` that `spend.json` holds."""
        return SpendReport(roles=self.roles)


def totals_from_records(records: list[CallRecord], now: float | None = None) -> RunTotals:
    """Fold ledger lines into totals; a session's time runs from its start to its last record."""
    roles: dict[str, dict[str, float]] = {}
    models: dict[str, str] = {}
    priced: set[str] = set()
    elapsed, session_start, last = 0.0, None, None
    for record in records:
        if record.kind == "session":
            if session_start is not None and last is not None:
                elapsed += max(0.0, last - session_start)
            session_start = last = record.at
            continue
        last = record.at
        counts = roles.setdefault(record.role, {})
        models.setdefault(record.role, record.model)
        if record.kind == "failed":
            counts["failed_calls"] = counts.get("failed_calls", 0) + 1
            continue
        counts["retries"] = counts.get("retries", 0) + record.retries
        if not record.usage_known:
            counts["calls_without_usage"] = counts.get("calls_without_usage", 0) + 1
        prefix = "cached_" if record.cached else ""
        counts[f"{prefix}calls"] = counts.get(f"{prefix}calls", 0) + 1
        counts[f"{prefix}prompt_tokens"] = (
            counts.get(f"{prefix}prompt_tokens", 0) + record.prompt_tokens
        )
        counts[f"{prefix}completion_tokens"] = (
            counts.get(f"{prefix}completion_tokens", 0) + record.completion_tokens
        )
        if record.cost_usd is not None and not record.cached:
            priced.add(record.role)
            counts["cost_usd"] = counts.get("cost_usd", 0.0) + record.cost_usd
    if session_start is not None:
        end = now if now is not None else last
        elapsed += max(0.0, (end or session_start) - session_start)
    spends = {
        role: Spend(
            role=role,
            model=models.get(role, ""),
            **{key: int(value) for key, value in counts.items() if key != "cost_usd"},
            cost_usd=counts.get("cost_usd") if role in priced else None,
        )
        for role, counts in roles.items()
    }
    return RunTotals(roles=spends, elapsed_s=elapsed)


Prices = tuple[float | None, float | None]
"""Input and output price per million tokens (None: unpriced)."""


class Budget(BaseModel):
    """The limits the gate enforces (None: no bound)."""

    model_config = ConfigDict(frozen=True)

    student_calls: int | None = None
    teacher_tokens: int | None = None
    cost_usd: float | None = None
    wall_s: float | None = None


def budget_reason(totals: RunTotals, budget: Budget) -> str:
    """Why the budget is spent, or '' while it is not (a pure function of the totals)."""
    student, teacher = totals.role("student"), totals.role("teacher")
    if budget.student_calls and student.calls >= budget.student_calls:
        return f"budget: {student.calls} student calls"
    used = teacher.prompt_tokens + teacher.completion_tokens
    if budget.teacher_tokens and used >= budget.teacher_tokens:
        return f"budget: {used} teacher tokens"
    if budget.cost_usd and totals.cost_usd >= budget.cost_usd:
        return f"budget: ${totals.cost_usd:.2f} spent"
    if budget.wall_s and totals.elapsed_s >= budget.wall_s:
        return f"budget: {totals.elapsed_s:.0f}s of wall time"
    return ""


class CallLedger:
    """The append-only record of one run's calls, with the budget gate.

    `enforce` is switched off for phases outside the budget (the test pass always runs).
    """

    def __init__(self, path: Path | None, budget: Budget | None = None) -> None:
        self.path = path
        self.budget = budget or Budget()
        self.enforce = True
        self._records: list[CallRecord] = []
        self._lock = threading.Lock()

    async def open(self, path: Path | None = None) -> CallLedger:
        """Read what earlier processes recorded (in `path`, if given) and start this session."""
        self.path = path or self.path
        if self.path is not None:
            self._records = await anyio.to_thread.run_sync(_read_records, self.path)
            await anyio.to_thread.run_sync(_end_cut_line, self.path)
        await self._append(CallRecord(kind="session", at=time.time()))
        return self

    def totals(self) -> RunTotals:
        """Totals of the whole run, this process's calls included, time counted up to now."""
        return totals_from_records(list(self._records), now=time.time())

    def check(self) -> None:
        """Raise `BudgetExhausted` when a budget is spent (only while `enforce` is on)."""
        if not self.enforce:
            return
        reason = budget_reason(self.totals(), self.budget)
        if reason:
            raise BudgetExhausted(reason)

    async def record(self, reply: ChatReply, *, model: str, prices: Prices) -> None:
        """Write one reply down (flushed before returning)."""
        cost = None
        if prices != (None, None) and not reply.cached:
            cost = (
                reply.prompt_tokens * (prices[0] or 0.0)
                + reply.completion_tokens * (prices[1] or 0.0)
            ) / 1_000_000
        await self._append(
            CallRecord(
                kind="reply",
                at=time.time(),
                role=reply.role,
                model=model,
                cached=reply.cached,
                prompt_tokens=reply.prompt_tokens,
                completion_tokens=reply.completion_tokens,
                usage_known=reply.usage_known,
                retries=reply.retries,
                cost_usd=cost,
            )
        )

    async def failed(self, role: str, model: str) -> None:
        """Write down a call that failed after its retries."""
        await self._append(CallRecord(kind="failed", at=time.time(), role=role, model=model))

    async def _append(self, record: CallRecord) -> None:
        self._records.append(record)
        if self.path is not None:
            line = record.model_dump_json() + "\n"
            path, lock = self.path, self._lock
            with anyio.CancelScope(shield=True):  # a paid reply is written even when cancelled
                await anyio.to_thread.run_sync(_append_line, path, line, lock)


def _read_records(path: Path) -> list[CallRecord]:
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(CallRecord.model_validate_json(line))
        except ValueError:
            continue  # a line cut by a crash mid-write: that call is simply not counted
    return records


def _end_cut_line(path: Path) -> None:
    """End a line a crash cut mid-write, so the next record starts on a line of its own."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb+") as stream:
        stream.seek(-1, 2)
        if stream.read(1) != b"\n":
            stream.write(b"\n")


def _append_line(path: Path, line: str, lock: threading.Lock) -> None:
    with lock, path.open("a", encoding="utf-8") as stream:
        stream.write(line)
        stream.flush()


class LedgeredRole:
    """A `ChatRole` whose calls pass the budget gate and are written to the run's ledger."""

    def __init__(
        self,
        inner: ChatRole,
        ledger: CallLedger,
        *,
        model: str = "",
        prices: Prices = (None, None),
    ) -> None:
        self.inner = inner
        self.role = inner.role
        self._ledger = ledger
        self._model = model
        self._prices = prices

    async def complete(
        self,
        messages: MessagesInput,
        *,
        sample_index: int = 0,
        config: RunnableConfig | None = None,
    ) -> ChatReply:
        """One completion, gated and recorded."""
        reply = await self._gated(
            lambda: self.inner.complete(messages, sample_index=sample_index, config=config)
        )
        await self._ledger.record(reply, model=self._model, prices=self._prices)
        return reply

    async def structured(
        self,
        messages: MessagesInput,
        schema: type[SchemaT],
        *,
        sample_index: int = 0,
        config: RunnableConfig | None = None,
    ) -> StructuredResult[SchemaT]:
        """A structured completion, gated; each reply it took (repair included) is recorded."""
        result = await self._gated(
            lambda: self.inner.structured(
                messages, schema, sample_index=sample_index, config=config
            )
        )
        for reply in result.replies:
            await self._ledger.record(reply, model=self._model, prices=self._prices)
        return result

    def spend(self) -> Spend:
        """This role's spend over the whole run (every process), from the ledger."""
        return self._ledger.totals().role(self.role)

    async def _gated(self, call: Callable[[], Awaitable[_T]]) -> _T:
        self._ledger.check()
        try:
            return await call()
        except (ModelError, ModelUnavailable):
            await self._ledger.failed(self.role, self._model)
            raise
