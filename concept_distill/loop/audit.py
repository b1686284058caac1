"""Rule audit before the test split: drop accepted rules that no longer pull their weight.

Rules are accepted one round at a time, each against the prompt of its day; a later rule can
make an earlier one redundant, and small students are hurt by long prompts. With two or more
accepted rules, each is left out in turn (least useful first) on the whole validation split;
a rule whose removal breaks no more examples than it fixes (point estimate) is dropped as
`pruned`, and the prompt without it is the one the next rule is audited against. The audit
never adds a rule, so it adds no false acceptance; its evidence is descriptive, and the test
split is the independent check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field

from concept_distill.loop.rounds import Evaluate, Prompt, Results


class AuditEvidence(BaseModel):
    """One rule's leave-one-out comparison on the validation split."""

    model_config = ConfigDict(frozen=True)

    rule: str
    pruned: bool
    prompt: Prompt = Field(description="The prompt the rule was left out of.")
    examples: int = Field(description="Examples judged with and without the rule.")
    broken_without: list[str] = Field(
        description="Example ids right with the rule and wrong without it (what it is worth)."
    )
    fixed_without: list[str] = Field(
        description="Example ids wrong with the rule and right without it (what it costs)."
    )
    reason: str


class AuditOutcome(BaseModel):
    """The audited prompt and one record per rule examined."""

    model_config = ConfigDict(frozen=True)

    prompt: Prompt
    evidence: list[AuditEvidence]
    budget_stopped: bool = False

    @property
    def pruned(self) -> list[str]:
        """Rule ids dropped, in audit order."""
        return [record.rule for record in self.evidence if record.pruned]


async def audit_rules(
    rules: Prompt,
    order: Sequence[str],
    evaluate: Evaluate,
    *,
    usefulness: Mapping[str, float] | None = None,
    budget_exhausted: Callable[[], bool] = lambda: False,
    known: Mapping[Prompt, Results] | None = None,
) -> AuditOutcome:
    """Leave each rule out in turn, least useful first; prune those not worth their place.

    `usefulness` ranks the rules (e.g. their acceptance difference; lower is examined first;
    missing values and ties go earliest rule first). A rule is examined only while two or more
    remain. A budget found spent stops the audit and keeps every rule not yet examined.
    `known` holds results already in hand (e.g. the final prompt's where the races reached);
    only the missing examples are asked for.
    """
    current = tuple(rules)
    if len(current) < 2:
        return AuditOutcome(prompt=current, evidence=[])
    scores = usefulness or {}
    queue = sorted(current, key=lambda r: (scores.get(r, float("-inf")), current.index(r)))
    in_hand = {prompt: dict(results) for prompt, results in (known or {}).items()}

    async def complete(prompt: Prompt) -> dict[str, bool | None]:
        have = in_hand.setdefault(prompt, {})
        missing = [i for i in order if i not in have]
        if missing:
            fresh = await evaluate(prompt, missing)
            have.update({i: fresh[i] for i in missing})
        return have

    with_rules = await complete(current)
    evidence: list[AuditEvidence] = []
    for rule in queue:
        if len(current) < 2:
            break
        if budget_exhausted():
            return AuditOutcome(prompt=current, evidence=evidence, budget_stopped=True)
        without_prompt = tuple(r for r in current if r != rule)
        without = await complete(without_prompt)
        pairs = [
            (i, with_rules[i], without[i])
            for i in order
            if with_rules[i] is not None and without[i] is not None
        ]
        worth = [i for i, kept, dropped in pairs if kept and not dropped]
        cost = [i for i, kept, dropped in pairs if dropped and not kept]
        pruned = len(worth) <= len(cost)
        verb = "pruned" if pruned else "kept"
        evidence.append(
            AuditEvidence(
                rule=rule, pruned=pruned, prompt=current, examples=len(pairs),
                broken_without=worth, fixed_without=cost,
                reason=f"{verb}: removal breaks {len(worth)}, fixes {len(cost)}",
            )
        )  # fmt: skip
        if pruned:
            current, with_rules = without_prompt, without
    return AuditOutcome(prompt=current, evidence=evidence)


def audit_call_bound(split_size: int, rules: int) -> int:
    """The most student calls the audit can make: the full prompt and each rule left out."""
    return 0 if rules < 2 else split_size * (rules + 1)
