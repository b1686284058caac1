"""One round of greedy acceptance, as a pure async function over an evaluation callback.

`run_round` races the round's candidate rules against the incumbent prompt, adds the best
accepted one to the prompt, and races the other accepted ones again against the new incumbent,
until a race accepts nothing. Every policy goes through it: `racing` looks after every chunk,
`threshold` and `paired_test` once, on the whole split (`AcceptancePolicy.chunk_size=None`).

A prompt is the tuple of the rule ids it holds, in order; the caller's `evaluate` turns it into
text and returns correctness per example id (None: unjudged, left out of the pairs). Each
prompt's result on an example is asked for at most once per round, when a race first reaches
that example, and shared by every candidate that needs it. `evaluate` is expected to be backed
by a response cache, so a resumed round pays for no completed call and, since decisions are
taken only on complete chunks in the fixed order, reaches the same decisions.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace

import anyio
from pydantic import BaseModel, ConfigDict, Field

from concept_distill.errors import single_error
from concept_distill.loop.acceptance import (
    AcceptancePolicy,
    CandidateTest,
    RaceContext,
    StopReason,
    Tally,
    Verdict,
)
from concept_distill.models.ledger import BudgetExhausted

Prompt = tuple[str, ...]
"""The rule ids a prompt holds, in order (the base prompt is `()`)."""

Results = Mapping[str, bool | None]
"""Correctness per example id; None for an example the system could not judge."""

Evaluate = Callable[[Prompt, Sequence[str]], Awaitable[Results]]
"""Evaluate a prompt on these example ids; must answer for every id asked, or raise
`BudgetExhausted` when a budget stops it (the race then ends with stop `budget`)."""


def race_order(example_ids: Sequence[str], seed: int) -> list[str]:
    """The one fixed order of the validation examples: sorted ids, shuffled by `seed`."""
    order = sorted(example_ids)
    random.Random(seed).shuffle(order)
    return order


class CandidateEvidence(BaseModel):
    """What one race showed about one candidate, and why it stopped."""

    model_config = ConfigDict(frozen=True)

    candidate: str
    race: int = Field(description="1 for the round's first race, 2+ for re-races.")
    incumbent: Prompt = Field(description="The prompt it was compared with.")
    stop: StopReason
    seen: int = Field(description="Examples of the fixed order used.")
    examples: int = Field(description="Examples judged under both prompts (the pairs).")
    fixed: list[str] = Field(description="Example ids wrong before and right with the rule.")
    broken: list[str] = Field(description="Example ids right before and wrong with the rule.")
    difference: float = Field(description="(fixed - broken) / examples.")
    statistic: float = Field(description="The policy's test statistic at the decision.")
    boundary: int | None = Field(None, description="Fixes needed at the decision, if any.")
    reason: str


class RoundOutcome(BaseModel):
    """The round's result: the new prompt and every race's evidence."""

    model_config = ConfigDict(frozen=True)

    incumbent: Prompt = Field(description="The prompt after the round (old rules + accepted).")
    accepted: list[str] = Field(description="Rule ids added this round, in prompt order.")
    evidence: list[CandidateEvidence] = Field(description="One record per candidate and race.")
    incumbent_results: dict[str, bool | None] = Field(
        description="What is known of the final prompt's results (all of it for whole-split "
        "policies; racing knows the examples its races reached)."
    )
    budget_stopped: bool = False

    def final(self) -> dict[str, CandidateEvidence]:
        """Each candidate's last record (the one that decided its fate)."""
        return {record.candidate: record for record in self.evidence}


class _Race:
    """One candidate's running tally in one race."""

    def __init__(self, candidate: str, test: CandidateTest) -> None:
        self.candidate = candidate
        self.test = test
        self.examples = self.base_correct = self.new_correct = 0
        self.fixed: list[str] = []
        self.broken: list[str] = []

    def add(self, example_id: str, base: bool | None, new: bool | None) -> None:
        if base is None or new is None:
            return
        self.examples += 1
        self.base_correct += base
        self.new_correct += new
        if new and not base:
            self.fixed.append(example_id)
        elif base and not new:
            self.broken.append(example_id)

    def tally(self, seen: int) -> Tally:
        return Tally(
            seen, self.examples, self.base_correct, self.new_correct,
            len(self.fixed), len(self.broken),
        )  # fmt: skip

    def evidence(
        self, race: int, incumbent: Prompt, seen: int, verdict: Verdict
    ) -> CandidateEvidence:
        assert verdict.stop is not None
        difference = (len(self.fixed) - len(self.broken)) / self.examples if self.examples else 0.0
        return CandidateEvidence(
            candidate=self.candidate, race=race, incumbent=incumbent, stop=verdict.stop,
            seen=seen, examples=self.examples, fixed=list(self.fixed), broken=list(self.broken),
            difference=difference, statistic=verdict.statistic, boundary=verdict.boundary,
            reason=verdict.reason,
        )  # fmt: skip


async def _fill(
    known: dict[Prompt, dict[str, bool | None]],
    prompts: Sequence[Prompt],
    ids: Sequence[str],
    evaluate: Evaluate,
) -> None:
    """Evaluate each prompt on the ids it lacks, all prompts concurrently."""
    spent: list[BudgetExhausted] = []

    async def one(prompt: Prompt) -> None:
        have = known.setdefault(prompt, {})
        missing = [i for i in ids if i not in have]
        if missing:
            try:
                results = await evaluate(prompt, missing)
            except BudgetExhausted as error:
                spent.append(error)  # the other prompts' calls in flight still finish
                return
            have.update({i: results[i] for i in missing})

    try:
        async with anyio.create_task_group() as group:
            for prompt in dict.fromkeys(prompts):
                group.start_soon(one, prompt)
    except BaseExceptionGroup as group_error:
        raise single_error(group_error) from None
    if spent:
        raise spent[0]


async def _race(
    number: int,
    incumbent: Prompt,
    candidates: Sequence[str],
    round_candidates: int,
    order: Sequence[str],
    known: dict[Prompt, dict[str, bool | None]],
    evaluate: Evaluate,
    policy: AcceptancePolicy,
    budget_exhausted: Callable[[], bool],
) -> list[CandidateEvidence]:
    context = RaceContext(number, len(candidates), round_candidates, len(order))
    running = {c: _Race(c, policy.test(context)) for c in candidates}
    records: list[CandidateEvidence] = []
    chunk = policy.chunk_size or len(order) or 1
    seen = 0
    while running:
        if budget_exhausted():
            for race in running.values():
                spent = Verdict("budget", 1.0, "validation budget spent")
                records.append(race.evidence(number, incumbent, seen, spent))
            break
        ids = order[seen : seen + chunk]
        prompts = [incumbent, *((*incumbent, c) for c in running)]
        try:
            await _fill(known, prompts, ids, evaluate)
        except BudgetExhausted:
            # The chunk is incomplete: decide nothing on it (a resume would not see it either).
            for race in running.values():
                spent = Verdict("budget", 1.0, "validation budget spent")
                records.append(race.evidence(number, incumbent, seen, spent))
            break
        seen += len(ids)
        base = known[incumbent]
        for candidate, race in list(running.items()):
            new = known[(*incumbent, candidate)]
            for example_id in ids:
                race.add(example_id, base[example_id], new[example_id])
            verdict = race.test.look(race.tally(seen))
            if verdict.stop is None and seen >= len(order):
                verdict = replace(verdict, stop="end_of_split")
            if verdict.stop is not None:
                records.append(race.evidence(number, incumbent, seen, verdict))
                del running[candidate]
    return records


async def run_round(
    incumbent: Prompt,
    candidates: Sequence[str],
    order: Sequence[str],
    evaluate: Evaluate,
    policy: AcceptancePolicy,
    *,
    budget_exhausted: Callable[[], bool] = lambda: False,
    known: Mapping[Prompt, Results] | None = None,
) -> RoundOutcome:
    """Greedy acceptance of this round's candidates on the validation examples in `order`.

    Race 1 runs every candidate against `incumbent`; the accepted one with the largest
    difference (ties: earlier acceptance, then the order of `candidates`) joins the prompt, and
    the other accepted ones race again against the new prompt (race 2, ...), until a race
    accepts nothing. A budget found spent before a chunk stops the round: the undecided
    candidates are rejected with stop `budget`. Nothing here raises for one example's failure:
    `evaluate` answers None for it. `known` holds results already in hand (e.g. the incumbent's
    on the whole split), which are then not asked for again.
    """
    if len(set(candidates)) != len(candidates):
        raise ValueError("candidate ids must be unique")
    results: dict[Prompt, dict[str, bool | None]] = {p: dict(r) for p, r in (known or {}).items()}
    prompt, accepted, evidence = tuple(incumbent), [], []
    pending, number, stopped = list(candidates), 0, False
    while pending and not stopped:
        number += 1
        records = await _race(number, prompt, pending, len(candidates), order, results, evaluate,
                              policy, budget_exhausted)  # fmt: skip
        evidence.extend(records)
        stopped = any(r.stop == "budget" for r in records)
        winners = [r for r in records if r.stop == "accepted"]
        if not winners:
            break
        best = max(winners, key=lambda r: (r.difference, -r.seen, -candidates.index(r.candidate)))
        prompt = (*prompt, best.candidate)
        accepted.append(best.candidate)
        pending = [c for c in pending if c != best.candidate and any(
            r.candidate == c for r in winners)]  # fmt: skip
    return RoundOutcome(
        incumbent=prompt,
        accepted=accepted,
        evidence=evidence,
        incumbent_results=dict(results.get(prompt, {})),
        budget_stopped=stopped,
    )


def round_call_bound(split_size: int, candidates: int, *, incumbent_known: bool = True) -> int:
    """The most student calls one round's validation can make, whatever the policy.

    At worst every race runs every candidate over the whole split and accepts one of them, so
    races shrink by one: split x (c + (c-1) + ... + 1). The incumbent of race 1 is free when its
    results are known (the base prompt's, or the previous round's winner under a whole-split
    policy); racing's later incumbents are the winners, whose examples are already paid for
    up to where they stopped, and at most the rest of the split beyond. Chunks do not change
    the bound: a race never asks for an example twice.
    """
    races = split_size * candidates * (candidates + 1) // 2
    return races + (0 if incumbent_known else split_size) + split_size * max(0, candidates - 1)
