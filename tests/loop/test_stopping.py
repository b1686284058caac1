"""Known-value tests of the stop conditions and the order `stop_reason` asks them in."""

from __future__ import annotations

from concept_distill.loop.stopping import (
    BudgetSpent,
    LoopStatus,
    MaxIterations,
    NoMistakesLeft,
    Patience,
    default_conditions,
    stop_reason,
)
from concept_distill.models import Spend
from concept_distill.models.ledger import Budget, RunTotals


def status(
    *, iteration: int = 1, idle_rounds: int = 0, mistakes_left: int = 5, student_calls: int = 0
) -> LoopStatus:
    totals = RunTotals(roles={"student": Spend(role="student", calls=student_calls)})
    return LoopStatus(
        iteration=iteration, idle_rounds=idle_rounds, mistakes_left=mistakes_left, totals=totals
    )


def test_patience_stops_when_the_idle_streak_reaches_it() -> None:
    patience = Patience(2)
    assert patience(status(idle_rounds=1)) == ""
    assert patience(status(idle_rounds=2)) == "no rule accepted in 2 round(s) in a row"


def test_max_iterations_stops_when_the_limit_is_done() -> None:
    limit = MaxIterations(3)
    assert limit(status(iteration=2)) == ""
    assert limit(status(iteration=3)) == "reached max_iterations (3)"


def test_no_mistakes_left_stops_only_at_zero() -> None:
    assert NoMistakesLeft()(status(mistakes_left=1)) == ""
    assert NoMistakesLeft()(status(mistakes_left=0)) == "no unexplained train mistake left"


def test_budget_spent_reads_the_run_totals() -> None:
    spent = BudgetSpent(Budget(student_calls=10))
    assert spent(status(student_calls=9)) == ""
    assert spent(status(student_calls=10)) == "budget: 10 student calls"
    assert BudgetSpent(Budget())(status(student_calls=10**6)) == ""


def test_stop_reason_is_the_first_condition_that_says_stop() -> None:
    conditions = [MaxIterations(1), NoMistakesLeft()]
    both = status(iteration=1, mistakes_left=0)
    assert stop_reason(conditions, both) == "reached max_iterations (1)"
    assert stop_reason(list(reversed(conditions)), both) == "no unexplained train mistake left"
    assert stop_reason(conditions, status(iteration=0, mistakes_left=3)) == ""
    assert stop_reason([], both) == ""


def test_default_order_puts_the_budget_first() -> None:
    conditions = default_conditions(patience=1, max_iterations=2, budget=Budget(student_calls=4))
    # Every condition says stop: the budget is named, because a round a budget cut short also
    # looks idle and would otherwise be reported as patience running out.
    everything = status(iteration=2, idle_rounds=1, mistakes_left=0, student_calls=4)
    assert stop_reason(conditions, everything) == "budget: 4 student calls"
    # Then patience, no mistakes left, and max iterations, in that order.
    not_spent = status(iteration=2, idle_rounds=1, mistakes_left=0, student_calls=3)
    assert stop_reason(conditions, not_spent) == "no rule accepted in 1 round(s) in a row"
    busy = status(iteration=2, idle_rounds=0, mistakes_left=0, student_calls=3)
    assert stop_reason(conditions, busy) == "no unexplained train mistake left"
    last = status(iteration=2, idle_rounds=0, mistakes_left=1, student_calls=3)
    assert stop_reason(conditions, last) == "reached max_iterations (2)"
    assert stop_reason(conditions, status(iteration=1, mistakes_left=1, student_calls=3)) == ""
