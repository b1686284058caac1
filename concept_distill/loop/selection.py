"""Choosing which mistakes the teacher sees: unexplained, unseen, diverse, within a token budget."""

from __future__ import annotations

from collections import defaultdict

from concept_distill.records import ExampleResult


def failure_kind(result: ExampleResult) -> str:
    """A coarse failure type: sandbox status and exception, or no answer vs a wrong number."""
    judgement = result.judgement
    if judgement.verdict is not None:
        detail = judgement.verdict.detail
        exception = detail.split("raised ", 1)[1].split(":", 1)[0] if "raised " in detail else ""
        return f"{judgement.verdict.status}:{exception}"
    return "no answer" if judgement.extracted is None else "wrong answer"


def select_batches(
    mistakes: dict[str, ExampleResult],
    shown: set[str],
    *,
    batches: int,
    per_batch: int,
    cost: dict[str, int],
    budget: int,
) -> list[list[str]]:
    """Round-robin over failure kinds so each batch mixes them; each batch within `budget`.

    `cost` is the estimated prompt tokens of showing each mistake; a mistake alone over the
    budget is skipped (and marked shown by the caller, so it is not retried forever).
    """
    by_kind: dict[str, list[str]] = defaultdict(list)
    for example_id in sorted(mistakes):
        if example_id not in shown:
            by_kind[failure_kind(mistakes[example_id])].append(example_id)
    order = _round_robin(list(by_kind.values()))
    chosen: list[list[str]] = []
    current: list[str] = []
    used = 0
    for example_id in order:
        if len(chosen) == batches:
            break
        if cost[example_id] > budget:
            continue
        if current and (len(current) == per_batch or used + cost[example_id] > budget):
            chosen.append(current)
            current, used = [], 0
            if len(chosen) == batches:
                break
        current.append(example_id)
        used += cost[example_id]
    if current and len(chosen) < batches:
        chosen.append(current)
    return chosen


def _round_robin(groups: list[list[str]]) -> list[str]:
    order: list[str] = []
    index = 0
    while any(index < len(group) for group in groups):
        order.extend(group[index] for group in groups if index < len(group))
        index += 1
    return order
