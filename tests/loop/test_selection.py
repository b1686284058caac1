"""Known-value tests of `select_batches`: the token budget, round-robin over kinds, the edges."""

from __future__ import annotations

from concept_distill.loop.selection import failure_kind, select_batches
from concept_distill.records import Attempt, ExampleResult, Judgement
from concept_distill.sandbox.verdict import Verdict


def wrong(example_id: str) -> ExampleResult:
    """A math mistake: a number was found, and it is not the gold one."""
    return ExampleResult(
        example_id=example_id,
        attempt=Attempt(example_id=example_id, reply="the answer is 7"),
        judgement=Judgement(outcome="wrong", reason="7 is not 8", extracted="7"),
    )


def unanswered(example_id: str) -> ExampleResult:
    """A math mistake with no number in the reply."""
    return ExampleResult(
        example_id=example_id,
        attempt=Attempt(example_id=example_id, reply="I do not know"),
        judgement=Judgement(outcome="wrong", reason="no number found"),
    )


def sandboxed(example_id: str, status: str, detail: str = "") -> ExampleResult:
    """A code mistake, judged by the sandbox."""
    verdict = Verdict.model_validate({"status": status, "duration_s": 0.1, "detail": detail})
    return ExampleResult(
        example_id=example_id,
        attempt=Attempt(example_id=example_id, reply="def f(): ..."),
        judgement=Judgement(outcome="wrong", reason=detail, verdict=verdict),
    )


def unit_costs(mistakes: dict[str, ExampleResult]) -> dict[str, int]:
    return dict.fromkeys(mistakes, 1)


def test_failure_kinds() -> None:
    assert failure_kind(wrong("a")) == "wrong answer"
    assert failure_kind(unanswered("a")) == "no answer"
    assert failure_kind(sandboxed("a", "timeout", "exceeded 5s")) == "timeout:"
    raised = sandboxed("a", "error", "f(2) raised ValueError: nope")
    assert failure_kind(raised) == "error:ValueError"
    assert failure_kind(sandboxed("a", "error", "g() raised TypeError: x")) == "error:TypeError"


def mixed() -> dict[str, ExampleResult]:
    # Kinds, in the order their first (sorted) id appears: wrong (a1 a2 a3), no answer (b1 b2),
    # timeout (c1).
    return {
        "b2": unanswered("b2"),
        "a3": wrong("a3"),
        "c1": sandboxed("c1", "timeout"),
        "a1": wrong("a1"),
        "b1": unanswered("b1"),
        "a2": wrong("a2"),
    }


def test_round_robin_mixes_failure_kinds_in_each_batch() -> None:
    mistakes = mixed()
    # Round robin over the kinds: a1 b1 c1, then a2 b2, then a3.
    batches = select_batches(
        mistakes, set(), batches=3, per_batch=2, cost=unit_costs(mistakes), budget=100
    )
    assert batches == [["a1", "b1"], ["c1", "a2"], ["b2", "a3"]]
    one_batch = select_batches(
        mistakes, set(), batches=1, per_batch=6, cost=unit_costs(mistakes), budget=100
    )
    assert one_batch == [["a1", "b1", "c1", "a2", "b2", "a3"]]


def test_shown_mistakes_are_never_chosen_again() -> None:
    mistakes = mixed()
    # Left: wrong (a2 a3), no answer (b2), timeout (c1): round robin a2 b2 c1, then a3.
    batches = select_batches(
        mistakes, {"a1", "b1"}, batches=4, per_batch=4, cost=unit_costs(mistakes), budget=100
    )
    assert batches == [["a2", "b2", "c1", "a3"]]
    everything = set(mistakes)
    assert select_batches(mistakes, everything, batches=2, per_batch=2, cost={}, budget=100) == []


def test_a_batch_fills_exactly_up_to_the_token_budget() -> None:
    mistakes = {example_id: wrong(example_id) for example_id in ("x1", "x2", "x3", "x4", "x5")}
    cost = {"x1": 10, "x2": 11, "x3": 4, "x4": 6, "x5": 1}
    # x1 costs exactly the budget: kept, alone. x2 is one over: skipped. x3 + x4 = 10: one
    # batch. x5 would make 11: it starts the next batch.
    batches = select_batches(mistakes, set(), batches=5, per_batch=5, cost=cost, budget=10)
    assert batches == [["x1"], ["x3", "x4"], ["x5"]]


def test_mistakes_each_over_the_budget_leave_nothing_to_show() -> None:
    mistakes = {"x1": wrong("x1"), "x2": unanswered("x2")}
    cost = {"x1": 11, "x2": 50}
    assert select_batches(mistakes, set(), batches=2, per_batch=2, cost=cost, budget=10) == []


def test_a_skipped_mistake_takes_no_place_in_a_batch() -> None:
    mistakes = {example_id: wrong(example_id) for example_id in ("x1", "x2", "x3")}
    cost = {"x1": 1, "x2": 99, "x3": 1}
    assert select_batches(mistakes, set(), batches=1, per_batch=2, cost=cost, budget=10) == [
        ["x1", "x3"]
    ]


def test_per_batch_and_batch_count_edges() -> None:
    mistakes = mixed()
    costs = unit_costs(mistakes)
    singles = select_batches(mistakes, set(), batches=3, per_batch=1, cost=costs, budget=100)
    assert singles == [["a1"], ["b1"], ["c1"]]
    # More batches asked than mistakes can fill: as many as there are, the last one partial.
    few = select_batches(mistakes, set(), batches=10, per_batch=4, cost=costs, budget=100)
    assert few == [["a1", "b1", "c1", "a2"], ["b2", "a3"]]
    assert select_batches(mistakes, set(), batches=0, per_batch=4, cost=costs, budget=100) == []
    assert select_batches({}, set(), batches=3, per_batch=4, cost={}, budget=100) == []
