"""When the loop stops: small stop conditions, each a policy the caller can replace.

The stop reason is computed once, after each round, from a `LoopStatus` snapshot; the graph
stores it in the state, so the router and the report read the same reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from concept_distill.models.ledger import Budget, RunTotals, budget_reason


class LoopStatus(BaseModel):
    """What the stop conditions look at after a round."""

    model_config = ConfigDict(frozen=True)

    iteration: int
    idle_rounds: int
    mistakes_left: int
    totals: RunTotals


class StopCondition(Protocol):
    """Says why the loop should stop now, or '' to go on."""

    def __call__(self, status: LoopStatus) -> str:
        """The reason to stop, or ''."""
        ...


class Patience:
    """Stop after `rounds` rounds in a row that accepted nothing."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds

    def __call__(self, status: LoopStatus) -> str:
        """Stop when the idle streak reaches `rounds`."""
        if status.idle_rounds >= self.rounds:
            return f"no rule accepted in {self.rounds} round(s) in a row"
        return ""


class MaxIterations:
    """Stop after `limit` rounds."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, status: LoopStatus) -> str:
        """Stop when `limit` rounds are done."""
        return f"reached max_iterations ({self.limit})" if status.iteration >= self.limit else ""


class NoMistakesLeft:
    """Stop when the incumbent prompt gets every train example right."""

    def __call__(self, status: LoopStatus) -> str:
        """Stop when no train mistake is left to explain."""
        return "" if status.mistakes_left else "no unexplained train mistake left"


class BudgetSpent:
    """Stop when any budget (calls, tokens, cost, wall time) is spent, over the whole run."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget

    def __call__(self, status: LoopStatus) -> str:
        """Stop when the run's totals reach a budget."""
        return budget_reason(status.totals, self.budget)


def stop_reason(conditions: Sequence[StopCondition], status: LoopStatus) -> str:
    """The first condition's reason to stop, or '' when all say go on."""
    for condition in conditions:
        reason = condition(status)
        if reason:
            return reason
    return ""


def default_conditions(
    *, patience: int, max_iterations: int, budget: Budget
) -> list[StopCondition]:
    """The default order: budgets first (a round a budget cut short also looks idle).

    Then patience, no mistakes left, and max iterations.
    """
    return [
        BudgetSpent(budget),
        Patience(patience),
        NoMistakesLeft(),
        MaxIterations(max_iterations),
    ]
