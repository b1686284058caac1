"""The rule audit: leave each accepted rule out in turn, prune the dead weight."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from concept_distill.loop.audit import audit_call_bound, audit_rules
from concept_distill.loop.rounds import Evaluate, Prompt, Results

pytestmark = pytest.mark.anyio

IDS = [f"ex{i:02d}" for i in range(40)]


def _student(rules: dict[str, set[str]], calls: list[Prompt]) -> Evaluate:
    async def evaluate(prompt: Prompt, ids: Sequence[str]) -> Results:
        calls.append(prompt)
        return {i: any(i in rules[r] for r in prompt) for i in ids}

    return evaluate


async def test_drops_a_rule_a_later_rule_made_redundant() -> None:
    # "early" fixed ex00-ex09 in round 1; "later" fixes ex00-ex19 and made it redundant.
    rules = {"early": set(IDS[:10]), "later": set(IDS[:20])}
    calls: list[Prompt] = []
    outcome = await audit_rules(("early", "later"), IDS, _student(rules, calls),
                                usefulness={"early": 0.25, "later": 0.25})  # fmt: skip
    assert outcome.prompt == ("later",)
    assert outcome.pruned == ["early"]
    record = outcome.evidence[0]
    assert (record.rule, record.broken_without, record.fixed_without) == ("early", [], [])
    assert record.examples == 40 and record.prompt == ("early", "later")
    # One rule left: "later" is not examined (the audit needs two or more).
    assert len(outcome.evidence) == 1
    assert calls == [("early", "later"), ("later",)]


async def test_keeps_rules_that_each_fix_their_own_examples_least_useful_first() -> None:
    rules = {"a": set(IDS[:5]), "b": set(IDS[5:20])}
    calls: list[Prompt] = []
    outcome = await audit_rules(("a", "b"), IDS, _student(rules, calls),
                                usefulness={"a": 0.5, "b": 0.1})  # fmt: skip
    assert outcome.prompt == ("a", "b")
    assert outcome.pruned == []
    # "b" is the less useful by its acceptance evidence, so it is left out first.
    assert [r.rule for r in outcome.evidence] == ["b", "a"]
    assert outcome.evidence[0].broken_without == IDS[5:20]


async def test_a_rule_that_hurts_is_pruned_even_when_it_helps_somewhere() -> None:
    async def evaluate(prompt: Prompt, ids: Sequence[str]) -> Results:
        right = set(IDS[:20]) if "good" in prompt else set()
        if "mixed" in prompt:
            right = (right | {IDS[30]}) - {IDS[0], IDS[1]}  # fixes 1, breaks 2
        return {i: i in right for i in ids}

    outcome = await audit_rules(("good", "mixed"), IDS, evaluate)
    assert outcome.pruned == ["mixed"]
    assert outcome.evidence[-1].fixed_without == IDS[:2]


async def test_fewer_than_two_rules_cost_nothing() -> None:
    calls: list[Prompt] = []
    outcome = await audit_rules(("only",), IDS, _student({"only": set()}, calls))
    assert outcome.prompt == ("only",) and outcome.evidence == [] and calls == []
    assert audit_call_bound(150, 1) == 0
    assert audit_call_bound(150, 3) == 600


async def test_budget_stops_the_audit_and_keeps_the_rest() -> None:
    rules = {"x": set(), "y": set(), "z": set(IDS[:3])}
    calls: list[Prompt] = []
    outcome = await audit_rules(("x", "y", "z"), IDS, _student(rules, calls),
                                budget_exhausted=lambda: len(calls) >= 2)  # fmt: skip
    assert outcome.budget_stopped
    assert outcome.prompt == ("y", "z")  # x examined and pruned; y was not examined
    assert outcome.pruned == ["x"]


async def test_results_in_hand_are_not_asked_for_again() -> None:
    rules = {"early": set(IDS[:10]), "later": set(IDS[:20])}
    asked: list[tuple[Prompt, int]] = []

    async def evaluate(prompt: Prompt, ids: Sequence[str]) -> Results:
        asked.append((prompt, len(ids)))
        return {i: any(i in rules[r] for r in prompt) for i in ids}

    half = {i: i in rules["later"] for i in IDS[:25]}  # the races reached 25 examples
    outcome = await audit_rules(("early", "later"), IDS, evaluate, known={("early", "later"): half})
    assert outcome.pruned == ["early"]
    assert asked == [(("early", "later"), 15), (("later",), 40)]
