"""Known-value tests of the call ledger: totals folded from records, the budget gate, the file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import anyio
import pytest
from pydantic import BaseModel

from concept_distill.errors import ModelError
from concept_distill.models import Spend
from concept_distill.models.ledger import (
    Budget,
    BudgetExhausted,
    CallLedger,
    CallRecord,
    LedgeredRole,
    RunTotals,
    budget_reason,
    totals_from_records,
)
from concept_distill.models.messages import MessagesInput
from concept_distill.models.replies import ChatReply, SchemaT, StructuredResult
from concept_distill.testing import ScriptedChatModel


def reply(at: float, role: str = "student", **fields: object) -> CallRecord:
    return CallRecord.model_validate({"kind": "reply", "at": at, "role": role, **fields})


class FakeClock:
    """Stands in for the `time` module the ledger reads `time()` from."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(1000.0)
    monkeypatch.setattr("concept_distill.models.ledger.time", SimpleNamespace(time=fake.time))
    return fake


# --- totals_from_records ------------------------------------------------------------------------


def test_paid_cached_failed_and_retries_are_counted_apart() -> None:
    records = [
        CallRecord(kind="session", at=100.0),
        reply(103.0, model="m", prompt_tokens=10, completion_tokens=5, retries=1, cost_usd=0.002),
        # A cached reply carrying a cost is still never priced (it replays a call paid before).
        reply(104.0, model="m", cached=True, prompt_tokens=10, completion_tokens=5, cost_usd=1.0),
        CallRecord(kind="failed", at=106.0, role="student", model="m"),
        reply(107.0, model="m", prompt_tokens=20, completion_tokens=7, retries=2, cost_usd=0.003),
        reply(110.0, role="teacher", model="t", usage_known=False),
    ]
    totals = totals_from_records(records)
    student, teacher = totals.role("student"), totals.role("teacher")
    # Paid: the replies at 103 and 107 -> 2 calls, 10+20 prompt, 5+7 completion tokens.
    assert (student.calls, student.prompt_tokens, student.completion_tokens) == (2, 30, 12)
    # Cached: the reply at 104 alone.
    assert (student.cached_calls, student.cached_prompt_tokens) == (1, 10)
    assert student.cached_completion_tokens == 5
    assert (student.failed_calls, student.retries) == (1, 1 + 2)
    assert student.cost_usd == pytest.approx(0.002 + 0.003)
    assert student.model == "m"
    # The teacher's reply reported no usage: counted as a call, flagged, never priced.
    assert (teacher.calls, teacher.calls_without_usage, teacher.cost_usd) == (1, 1, None)
    assert student.calls_without_usage == 0
    assert totals.cost_usd == pytest.approx(0.005)
    # One session, from its start (100) to its last record (110).
    assert totals.elapsed_s == pytest.approx(10.0)


def test_a_role_with_only_cached_replies_has_no_cost() -> None:
    records = [CallRecord(kind="session", at=0.0), reply(1.0, cached=True, cost_usd=0.5)]
    assert totals_from_records(records).role("student").cost_usd is None


def test_elapsed_time_sums_sessions_and_leaves_out_the_gaps_between_them() -> None:
    records = [
        CallRecord(kind="session", at=100.0),
        reply(104.0),
        reply(110.0),  # first process: 100 -> 110 = 10 s
        CallRecord(kind="session", at=500.0),  # resumed 390 s later: the gap is not running time
        reply(520.0),  # second process: 500 -> 520 so far
    ]
    # Without `now` the last session ends at its last record: 10 + 20.
    assert totals_from_records(records).elapsed_s == pytest.approx(30.0)
    # With `now` the last session runs up to now: 10 + (530 - 500).
    assert totals_from_records(records, now=530.0).elapsed_s == pytest.approx(40.0)


def test_call_and_wall_seconds_per_role_sum_sessions() -> None:
    records = [
        CallRecord(kind="session", at=100.0),
        reply(104.0, seconds=3.0),  # 101 -> 104
        reply(105.0, seconds=2.0),  # 103 -> 105, overlapping the first
        reply(106.0, role="teacher", seconds=6.0),  # 100 -> 106
        CallRecord(kind="session", at=500.0),
        reply(520.0, seconds=4.0),  # 516 -> 520
        reply(521.0, seconds=0.0, cached=True),  # a cache hit ends the role's span at 521
    ]
    totals = totals_from_records(records)
    student, teacher = totals.role("student"), totals.role("teacher")
    assert student.call_seconds == pytest.approx(9.0)  # 3 + 2 + 4 + 0: overlaps add
    assert student.wall_seconds == pytest.approx(4.0 + 5.0)  # 101 -> 105, then 516 -> 521
    assert (teacher.call_seconds, teacher.wall_seconds) == (pytest.approx(6.0), pytest.approx(6.0))
    assert totals_from_records([reply(10.0)]).role("student").wall_seconds == 0.0  # old ledgers


def test_a_session_with_no_record_yet_counts_up_to_now_only() -> None:
    records = [
        CallRecord(kind="session", at=100.0),
        reply(105.0),
        CallRecord(kind="session", at=200.0),
    ]
    assert totals_from_records(records).elapsed_s == pytest.approx(5.0)
    assert totals_from_records(records, now=207.0).elapsed_s == pytest.approx(5.0 + 7.0)


def test_no_records_no_spend() -> None:
    totals = totals_from_records([])
    assert totals.roles == {} and totals.elapsed_s == 0.0 and totals.cost_usd == 0.0
    assert totals.role("student") == Spend(role="student")


# --- budget_reason ------------------------------------------------------------------------------


def totals_of(
    *,
    student_calls: int = 0,
    teacher: tuple[int, int] = (0, 0),
    cost: float | None = None,
    elapsed: float = 0.0,
    cached_teacher: int = 0,
) -> RunTotals:
    roles = {
        "student": Spend(role="student", calls=student_calls, cost_usd=cost),
        "teacher": Spend(
            role="teacher",
            prompt_tokens=teacher[0],
            completion_tokens=teacher[1],
            cached_prompt_tokens=cached_teacher,
        ),
    }
    return RunTotals(roles=roles, elapsed_s=elapsed)


def test_student_calls_budget_at_its_boundary() -> None:
    budget = Budget(student_calls=3)
    assert budget_reason(totals_of(student_calls=2), budget) == ""
    assert budget_reason(totals_of(student_calls=3), budget) == "budget: 3 student calls"


def test_teacher_tokens_budget_counts_paid_prompt_and_completion_tokens() -> None:
    budget = Budget(teacher_tokens=100)
    assert budget_reason(totals_of(teacher=(60, 39)), budget) == ""  # 99
    assert budget_reason(totals_of(teacher=(60, 40)), budget) == "budget: 100 teacher tokens"
    # Tokens replayed from the cache cost nothing and do not count.
    assert budget_reason(totals_of(teacher=(60, 39), cached_teacher=500), budget) == ""


def test_cost_budget_at_its_boundary() -> None:
    budget = Budget(cost_usd=0.25)
    assert budget_reason(totals_of(cost=0.24), budget) == ""
    assert budget_reason(totals_of(cost=0.25), budget) == "budget: $0.25 spent"


def test_wall_time_budget_at_its_boundary() -> None:
    budget = Budget(wall_s=60)
    assert budget_reason(totals_of(elapsed=59.0), budget) == ""
    assert budget_reason(totals_of(elapsed=60.0), budget) == "budget: 60s of wall time"


def test_no_budget_never_stops_and_student_calls_are_named_first() -> None:
    spent = totals_of(student_calls=10**6, teacher=(10**9, 0), cost=10**3, elapsed=10**7)
    assert budget_reason(spent, Budget()) == ""
    every = Budget(student_calls=1, teacher_tokens=1, cost_usd=1, wall_s=1)
    assert budget_reason(spent, every).endswith("student calls")
    assert budget_reason(totals_of(teacher=(5, 0), cost=5, elapsed=5), every).endswith(
        "teacher tokens"
    )


# --- CallLedger and its file --------------------------------------------------------------------


@pytest.mark.anyio
async def test_records_survive_a_new_ledger_on_the_same_file(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "calls.jsonl"
    first = await CallLedger(path).open()  # session at 1000
    clock.now = 1004.0
    paid = ChatReply(role="student", text="a", prompt_tokens=10, completion_tokens=2, retries=1)
    await first.record(paid, model="m", prices=(1.0, 2.0))
    cached = paid.model_copy(update={"cached": True, "retries": 0})  # a replay made no attempt
    await first.record(cached, model="m", prices=(1.0, 2.0))
    clock.now = 1006.0
    await first.failed("teacher", "t")

    clock.now = 2000.0  # a new process, much later
    second = await CallLedger(path).open()
    clock.now = 2003.0
    totals = second.totals()
    student, teacher = totals.role("student"), totals.role("teacher")
    assert (student.calls, student.cached_calls, student.retries) == (1, 1, 1)
    assert (student.prompt_tokens, student.cached_prompt_tokens) == (10, 10)
    # (10 prompt tokens * $1 + 2 completion tokens * $2) per million; the cached one is free.
    assert student.cost_usd == pytest.approx(14e-6)
    assert teacher.failed_calls == 1
    # First process 1000 -> 1006, second 2000 -> now (2003).
    assert totals.elapsed_s == pytest.approx(6.0 + 3.0)
    kinds = [json.loads(line)["kind"] for line in path.read_text().splitlines()]
    assert kinds == ["session", "reply", "reply", "failed", "session"]


@pytest.mark.anyio
async def test_a_line_cut_by_a_crash_is_skipped(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "calls.jsonl"
    first = await CallLedger(path).open()
    await first.record(
        ChatReply(role="student", text="a", prompt_tokens=3), model="m", prices=(None, None)
    )
    with path.open("a") as stream:
        stream.write('{"kind":"reply","at":1000.5,"role":"stu')  # kill -9 mid-write
    again = await CallLedger(path).open()
    assert again.totals().role("student").calls == 1
    assert again.totals().role("student").prompt_tokens == 3


@pytest.mark.anyio
async def test_what_is_written_after_a_cut_line_survives_the_next_resume(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "calls.jsonl"
    first = await CallLedger(path).open()  # session at 1000
    clock.now = 1010.0
    await first.record(ChatReply(role="student", text="a"), model="m", prices=(None, None))
    with path.open("a") as stream:
        stream.write('{"kind":"reply","at":1011')  # kill -9 mid-write, no newline

    clock.now = 5000.0  # resumed over an hour later
    second = await CallLedger(path).open()
    clock.now = 5010.0
    await second.record(ChatReply(role="student", text="b"), model="m", prices=(None, None))

    clock.now = 9000.0  # resumed again
    third = await CallLedger(path).open()
    totals = third.totals()
    assert totals.role("student").calls == 2
    # Sessions: 1000 -> 1010, 5000 -> 5010, 9000 -> now (9000). The time between processes is
    # not running time, so the second session's start must still be read back.
    assert totals.elapsed_s == pytest.approx(10.0 + 10.0 + 0.0)


@pytest.mark.anyio
async def test_check_raises_once_a_budget_is_spent_unless_enforcement_is_off(
    tmp_path: Path,
) -> None:
    ledger = await CallLedger(tmp_path / "calls.jsonl", Budget(student_calls=1)).open()
    ledger.check()  # nothing spent yet
    await ledger.record(ChatReply(role="student", text="a"), model="m", prices=(None, None))
    with pytest.raises(BudgetExhausted) as raised:
        ledger.check()
    assert raised.value.reason == "budget: 1 student calls"
    ledger.enforce = False  # the test pass is outside the budget
    ledger.check()


@pytest.mark.anyio
async def test_a_ledger_without_a_file_keeps_records_in_memory() -> None:
    ledger = await CallLedger(None).open()
    await ledger.record(ChatReply(role="student", text="a"), model="m", prices=(None, None))
    assert ledger.totals().role("student").calls == 1


class SlowStore:
    """A ledger store whose appends take a while, so concurrent records pile up meanwhile."""

    def __init__(self) -> None:
        self.batches: list[list[CallRecord]] = []

    async def load(self) -> list[CallRecord]:
        return []

    async def append(self, records: Sequence[CallRecord]) -> None:
        await anyio.sleep(0.01)
        self.batches.append(list(records))


@pytest.mark.anyio
async def test_concurrent_records_share_batches_and_each_is_stored_before_it_returns() -> None:
    store = SlowStore()
    ledger = await CallLedger(store).open()
    missing: list[int] = []

    async def call(index: int) -> None:
        paid = ChatReply(role="student", text="a", prompt_tokens=index)
        await ledger.record(paid, model="m", prices=(None, None))
        stored = {r.prompt_tokens for batch in store.batches for r in batch if r.kind == "reply"}
        if index not in stored:
            missing.append(index)

    async with anyio.create_task_group() as group:
        for index in range(1, 51):
            group.start_soon(call, index)

    assert missing == []  # no call returned before its record was stored
    assert [len(batch) for batch in store.batches] == [1, 1, 49]  # session, first, the rest
    assert ledger.totals().role("student").calls == 50
    assert ledger.totals().role("student").prompt_tokens == sum(range(1, 51))


# --- LedgeredRole -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_no_call_starts_once_the_budget_is_spent(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    ledger = await CallLedger(path, Budget(student_calls=2)).open()
    inner = ScriptedChatModel(["one", "two", "three"], role="student")
    role = LedgeredRole(inner, ledger, model="scripted")

    await role.complete([("user", "a")])
    await role.complete([("user", "b")])
    with pytest.raises(BudgetExhausted):
        await role.complete([("user", "c")])
    with pytest.raises(BudgetExhausted):
        await role.structured([("user", "d")], Answer)

    assert len(inner.calls) == 2  # the gate stopped both calls before they reached the model
    assert role.spend().calls == 2
    kinds = [json.loads(line)["kind"] for line in path.read_text().splitlines()]
    assert kinds == ["session", "reply", "reply"]


class Answer(BaseModel):
    answer: str


@pytest.mark.anyio
async def test_a_structured_call_records_each_reply_it_took(tmp_path: Path) -> None:
    ledger = await CallLedger(tmp_path / "calls.jsonl").open()
    # The first reply is not JSON, so a repair call is made: two replies for one request.
    inner = ScriptedChatModel(["not json", '{"answer": "4"}'], role="teacher")
    role = LedgeredRole(inner, ledger, model="scripted", prices=(1.0, 1.0))

    result = await role.structured([("user", "what is 2+2")], Answer)

    assert result.value == Answer(answer="4") and result.repaired
    spend = (await CallLedger(tmp_path / "calls.jsonl").open()).totals().role("teacher")
    assert spend.calls == 2
    # Completion tokens are word counts: "not json" (2) + '{"answer": "4"}' (2).
    assert spend.completion_tokens == 4
    # The first prompt is "what is 2+2" (3 words); the repair prompt repeats it and adds more.
    assert spend.prompt_tokens == sum(reply.prompt_tokens for reply in result.replies)
    assert result.replies[0].prompt_tokens == 3 and spend.prompt_tokens > 3 + 3
    assert spend.cost_usd == pytest.approx((spend.prompt_tokens + 4) / 1_000_000)


class FailingRole:
    """A chat role whose endpoint always fails (after its retries)."""

    role = "student"

    async def complete(self, messages: MessagesInput, **_: object) -> ChatReply:
        raise ModelError("endpoint said 500")

    async def structured(
        self, messages: MessagesInput, schema: type[SchemaT], **_: object
    ) -> StructuredResult[SchemaT]:
        raise ModelError("endpoint said 500")

    def spend(self) -> Spend:
        return Spend(role=self.role)


@pytest.mark.anyio
async def test_a_failed_call_is_recorded_and_re_raised(tmp_path: Path) -> None:
    ledger = await CallLedger(tmp_path / "calls.jsonl").open()
    role = LedgeredRole(FailingRole(), ledger, model="m")
    with pytest.raises(ModelError):
        await role.complete([("user", "a")])
    spend = (await CallLedger(tmp_path / "calls.jsonl").open()).totals().role("student")
    assert (spend.calls, spend.failed_calls, spend.model) == (0, 1, "m")
