"""`run_round` on scripted students: early stops, greedy re-races, determinism, budget, resume."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import anyio
import pytest

from concept_distill.loop.acceptance import (
    AcceptanceConfig,
    AcceptancePolicy,
    PairedTestPolicy,
    ThresholdPolicy,
)
from concept_distill.loop.racing import RacingPolicy
from concept_distill.loop.rounds import Prompt, Results, race_order, round_call_bound, run_round

pytestmark = pytest.mark.anyio

IDS = [f"ex{i:03d}" for i in range(100)]


class Scripted:
    """A student whose answer is a pure function of (prompt, example); counts every call.

    `rules` maps a rule id to the set of examples it makes right; everything else is wrong.
    With `jitter`, replies complete in a random order (random sleeps).
    """

    def __init__(self, rules: dict[str, set[str]], *, jitter: int | None = None) -> None:
        self.rules = rules
        self.calls: list[tuple[Prompt, str]] = []
        self.jitter = random.Random(jitter) if jitter is not None else None

    def answer(self, prompt: Prompt, example_id: str) -> bool | None:
        return any(example_id in self.rules[rule] for rule in prompt)

    async def __call__(self, prompt: Prompt, ids: Sequence[str]) -> Results:
        results: dict[str, bool | None] = {}

        async def one(example_id: str) -> None:
            if self.jitter is not None:
                await anyio.sleep(self.jitter.random() / 1000)
            self.calls.append((prompt, example_id))
            results[example_id] = self.answer(prompt, example_id)

        async with anyio.create_task_group() as group:
            for example_id in ids:
                group.start_soon(one, example_id)
        return results


def _one_good_six_useless() -> dict[str, set[str]]:
    rules: dict[str, set[str]] = {f"null{i}": set() for i in range(6)}
    rules["good"] = set(IDS)  # right everywhere; the base prompt () is wrong everywhere
    return rules


async def test_race_stops_early_and_saves_calls() -> None:
    order = race_order(IDS, 3)
    candidates = ["null0", "null1", "good", "null2", "null3", "null4", "null5"]
    racing, paired = Scripted(_one_good_six_useless()), Scripted(_one_good_six_useless())
    raced = await run_round((), candidates, order, racing, AcceptanceConfig().build())
    full = await run_round((), candidates, order, paired, PairedTestPolicy(0.1))
    assert raced.accepted == full.accepted == ["good"]
    final = raced.final()
    assert final["good"].stop == "accepted" and final["good"].seen == 20  # 2^-20 fits at 20
    assert all(final[f"null{i}"].stop == "not_better" for i in range(6))
    assert all(final[f"null{i}"].seen == 20 for i in range(6))
    # Incumbent and 7 candidates on 20 examples, against 8 prompts on the whole split.
    assert len(racing.calls) == 8 * 20
    assert len(paired.calls) == 8 * 100
    assert len(set(racing.calls)) == len(racing.calls)  # no result asked for twice


async def test_greedy_rounds_re_race_the_other_accepted_against_the_new_incumbent() -> None:
    rules = {"wide": set(IDS[:60]), "narrow": set(IDS[:30]), "other": set(IDS[60:90])}
    outcome = await run_round((), ["narrow", "wide", "other"], IDS, Scripted(rules),
                              ThresholdPolicy())  # fmt: skip
    # Race 1 accepts all three; "wide" (+0.6) joins; race 2 against ("wide",): "narrow" fixes
    # nothing (rejected at the end), "other" fixes 30 and joins; race 3 has no candidate left.
    assert outcome.accepted == ["wide", "other"]
    assert outcome.incumbent == ("wide", "other")
    races = [(r.candidate, r.race, r.stop) for r in outcome.evidence]
    assert ("narrow", 2, "end_of_split") in races
    assert ("other", 2, "accepted") in races
    assert outcome.final()["narrow"].incumbent == ("wide",)
    assert outcome.final()["other"].fixed == IDS[60:90]


async def _decisions(policy: AcceptancePolicy, student: Scripted, seed: int) -> list[object]:
    outcome = await run_round((), ["a", "b", "c", "d"], race_order(IDS, seed), student, policy)
    return [(r.candidate, r.race, r.stop, r.seen, r.fixed, r.broken) for r in outcome.evidence]


def _noisy_rules(seed: int) -> dict[str, set[str]]:
    rng = random.Random(seed)
    return {name: {i for i in IDS if rng.random() < share}
            for name, share in (("a", 0.5), ("b", 0.1), ("c", 0.3), ("d", 0.05))}  # fmt: skip


async def test_same_seed_same_decisions_whatever_the_completion_order() -> None:
    policy = AcceptanceConfig(chunk_size=7).build()
    reference = await _decisions(policy, Scripted(_noisy_rules(1)), seed=5)
    for jitter in (1, 2, 3):
        assert await _decisions(policy, Scripted(_noisy_rules(1), jitter=jitter), 5) == reference
    assert await _decisions(policy, Scripted(_noisy_rules(1)), seed=6) != reference


async def test_budget_mid_race_rejects_the_undecided() -> None:
    rules = {"slow": set(IDS[::4]), "none": set()}
    student = Scripted(rules)
    policy = RacingPolicy(chunk_size=10, min_effect=0.0, futility_z=100.0)
    outcome = await run_round(
        (),
        ["slow", "none"],
        IDS,
        student,
        policy,
        budget_exhausted=lambda: len(student.calls) >= 50,
    )
    # Chunk 1 costs 30 calls (incumbent + 2), chunk 2 60: the budget is found spent after it.
    assert outcome.budget_stopped
    assert outcome.accepted == []
    assert {r.candidate: (r.stop, r.seen) for r in outcome.evidence} == {
        "slow": ("budget", 20),
        "none": ("budget", 20),
    }


async def test_resume_after_a_stop_pays_nothing_twice_and_decides_the_same() -> None:
    policy = AcceptanceConfig(chunk_size=5).build()
    rules = _noisy_rules(2)
    uninterrupted = await _decisions(policy, Scripted(rules), seed=9)

    model = Scripted(rules)
    cache: dict[tuple[Prompt, str], bool | None] = {}

    async def cached(prompt: Prompt, ids: Sequence[str]) -> Results:
        missing = [i for i in ids if (prompt, i) not in cache]
        for i, result in (await model(prompt, missing)).items():
            cache[(prompt, i)] = result
        return {i: cache[(prompt, i)] for i in ids}

    stop_after: Callable[[], bool] = lambda: len(model.calls) >= 40  # noqa: E731
    order = race_order(IDS, 9)
    killed = await run_round((), ["a", "b", "c", "d"], order, cached, policy,
                             budget_exhausted=stop_after)  # fmt: skip
    assert killed.budget_stopped
    paid = len(model.calls)
    resumed = await run_round((), ["a", "b", "c", "d"], order, cached, policy)
    decisions = [(r.candidate, r.race, r.stop, r.seen, r.fixed, r.broken) for r in resumed.evidence]
    assert decisions == uninterrupted
    assert len(set(model.calls)) == len(model.calls)  # the resume re-paid for nothing
    assert len(model.calls) > paid


async def test_unjudged_examples_are_left_out_of_the_pairs() -> None:
    class Flaky(Scripted):
        def answer(self, prompt: Prompt, example_id: str) -> bool | None:
            return None if example_id in IDS[:10] else super().answer(prompt, example_id)

    outcome = await run_round((), ["all"], IDS, Flaky({"all": set(IDS)}), PairedTestPolicy(0.1))
    record = outcome.final()["all"]
    assert record.examples == 90 and record.seen == 100
    assert record.fixed == IDS[10:]


async def test_paired_test_keeps_its_strict_level_through_the_round_function() -> None:
    # 6 fixed of 6 judged: p = 1/64, level 0.125 / 8 = 1/64: paired_test needs p < level.
    rules = {"six": set(IDS[:6])}
    outcome = await run_round((), ["six"], IDS[:6], Scripted(rules), PairedTestPolicy(0.125))
    assert outcome.accepted == ["six"]  # one candidate in the round: level 0.125
    many = [f"c{i}" for i in range(8)]
    outcome = await run_round((), many, IDS[:6], Scripted({c: set(IDS[:6]) for c in many}),
                              PairedTestPolicy(0.125))  # fmt: skip
    assert outcome.accepted == []
    assert all(r.stop == "end_of_split" for r in outcome.evidence)


async def test_calls_never_exceed_the_dry_run_bound() -> None:
    assert round_call_bound(10, 3) == 10 * (3 + 2 + 1) + 10 * 2
    assert round_call_bound(10, 3, incumbent_known=False) == 90
    # A bad case for racing: disjoint rules, each accepted in turn, so four races.
    rules = {f"r{k}": set(IDS[25 * k : 25 * (k + 1)]) for k in range(4)}
    student = Scripted(rules)
    policy = RacingPolicy(alpha=0.5, chunk_size=10, min_effect=0.0, futility_z=100.0)
    outcome = await run_round((), list(rules), race_order(IDS, 1), student, policy)
    assert len(outcome.accepted) == 4
    assert max(r.race for r in outcome.evidence) == 4
    assert len(student.calls) <= round_call_bound(100, 4, incumbent_known=False)


async def test_known_incumbent_results_are_not_asked_for_again() -> None:
    student = Scripted(_one_good_six_useless())
    base = {i: False for i in IDS}
    outcome = await run_round((), ["good", "null0"], race_order(IDS, 3), student,
                              AcceptanceConfig().build(), known={(): base})  # fmt: skip
    assert outcome.accepted == ["good"]
    assert all(prompt != () for prompt, _ in student.calls)
    assert len(student.calls) == 2 * 20
