"""Candidate rules as data: from a teacher's reply, de-duplicated, and decided by a round.

Pure functions over `Rule` records; the graph's induce and validate nodes call them.
"""

from __future__ import annotations

from concept_distill.agents.rule_filters import batch_text, check_rule, distinct_rules
from concept_distill.agents.teacher import Induction
from concept_distill.loop.evaluation import length_note, length_ratio
from concept_distill.loop.rounds import CandidateEvidence, Prompt
from concept_distill.loop.stats import binomial_tail
from concept_distill.records import Example, ExampleResult, Rule


def proposed_rules(
    induction: Induction,
    batch: list[tuple[Example, ExampleResult]],
    *,
    iteration: int,
    batch_index: int,
    existing: list[str],
    vocabulary: frozenset[str] = frozenset(),
    bare_fallback: bool = False,
) -> list[Rule]:
    """The teacher's reply as candidate rules, each through the filters (leak, generic, ...).

    Ids are `r<iteration>-<batch>-<n>`; a failed or malformed reply is one `malformed` record,
    kept as evidence and never raced. `existing` are the rule texts already in the ledger;
    `vocabulary` the task's own words (`rule_filters.task_vocabulary`), never leaks. With
    `bare_fallback`, a rule refused only for its illustration is kept without it: a small
    teacher's illustrations often retell the batch's problem while the rule itself is general.
    """
    mistake_ids = [example.id for example, _ in batch]
    prefix = f"r{iteration}-{batch_index}"
    if induction.reply is None:
        return [
            Rule(
                id=f"{prefix}-malformed", text="", iteration=iteration,
                source_mistakes=mistake_ids, status="malformed", reason=induction.failure,
            )
        ]  # fmt: skip
    problems, answers = batch_text(batch)
    existing = list(existing)
    rules = []
    for number, proposal in enumerate(induction.reply.rules, start=1):
        status, reason = check_rule(
            proposal.rule, problems, answers, existing,
            illustration=proposal.example or "", vocabulary=vocabulary,
        )  # fmt: skip
        if bare_fallback and proposal.example and status in ("leak", "too_long"):
            bare = proposal.model_copy(update={"example": None})
            bare_status, bare_reason = check_rule(
                bare.rule, problems, answers, existing, vocabulary=vocabulary
            )
            if bare_status == "proposed":
                proposal, status, reason = bare, "proposed", f"illustration dropped: {reason}"
            elif bare_reason != reason:  # the ledger says why the rule alone failed too
                reason = f"{reason}; without its illustration: {bare_reason}"
        sources = [mistake_ids[n - 1] for n in proposal.mistakes if 0 < n <= len(mistake_ids)]
        rules.append(
            Rule(
                id=f"{prefix}-{number}", text=proposal.student_text(),
                iteration=iteration, source_mistakes=sources or mistake_ids,
                diagnosis=induction.reply.diagnosis, status=status, reason=reason,
            )
        )  # fmt: skip
        existing.append(proposal.rule)
    return rules


def drop_duplicates(ledger: dict[str, Rule], iteration: int) -> tuple[dict[str, Rule], list[Rule]]:
    """Mark this round's near-duplicate proposals (parallel batches cannot see each other's)."""
    earlier = [r.text for r in ledger.values() if r.iteration < iteration and r.text]
    fresh = [r for r in ledger.values() if r.iteration == iteration and r.status == "proposed"]
    keep = set(distinct_rules([rule.text for rule in fresh], earlier))
    duplicates = [
        rule.model_copy(update={"status": "duplicate", "reason": "same as another proposal"})
        for index, rule in enumerate(fresh)
        if index not in keep
    ]
    return {**ledger, **{rule.id: rule for rule in duplicates}}, duplicates


def decide_rules(
    ledger: dict[str, Rule],
    final: dict[str, CandidateEvidence],
    accepted: list[str],
    lengths: dict[Prompt, dict[str, int]],
    *,
    position: int,
) -> list[Rule]:
    """Each raced candidate with its evidence and status (accepted in order, else rejected).

    A candidate whose replies are much shorter or longer than the incumbent's is flagged in its
    evidence (`reply_length_ratio`, and the reason says so): small students stop reasoning when
    told to be brief, and ramble into the token cap when a rule invites more work.
    `position` is where this round's first accepted rule goes in the prompt.
    """
    decided = []
    for rule_id, record in final.items():
        status = "accepted" if rule_id in accepted else "rejected"
        examples = record.examples
        ratio = length_ratio(
            lengths.get((*record.incumbent, rule_id), {}), lengths.get(record.incumbent, {})
        )
        reason = f"{record.stop}: {record.reason}"
        if ledger[rule_id].reason:  # what the filters noted, e.g. an illustration dropped
            reason = f"{ledger[rule_id].reason}; {reason}"
        note = length_note(ratio)
        if note is not None:
            reason += f"; {note}"
        decided.append(
            ledger[rule_id].model_copy(
                update={
                    "status": status,
                    "reason": reason,
                    "validation_delta": record.difference,
                    "validation_accuracy": None,
                    "p_value": binomial_tail(
                        len(record.fixed), len(record.fixed) + len(record.broken)
                    )
                    if examples
                    else None,
                    "fixed": record.fixed,
                    "broken": record.broken,
                    "accepted_order": position + accepted.index(rule_id)
                    if status == "accepted"
                    else None,
                    "evidence": {
                        **record.model_dump(mode="json"),
                        "reply_length_ratio": ratio,
                    },
                }
            )
        )
    return decided
