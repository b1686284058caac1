"""Candidate rules as data: known cases of proposed_rules, drop_duplicates and decide_rules."""

from __future__ import annotations

from concept_distill.agents.teacher import Induction, ProposedRule, TeacherReply
from concept_distill.loop.candidates import decide_rules, drop_duplicates, proposed_rules
from concept_distill.loop.rounds import CandidateEvidence
from concept_distill.records import Attempt, Example, ExampleResult, Judgement, Rule

GENERAL = "When a problem has several steps, compute one intermediate value per line."


def mistake(example_id: str, question: str) -> tuple[Example, ExampleResult]:
    example = Example(id=example_id, question=question, answer="12")
    attempt = Attempt(example_id=example_id, reply="I think 7.")
    judgement = Judgement(outcome="wrong", reason="7 is not 12")
    return example, ExampleResult(example_id=example_id, attempt=attempt, judgement=judgement)


BATCH = [mistake("m1", "Jo buys 3 jars of honey at 4 dollars each."), mistake("m2", "A bus...")]


def test_a_failed_reply_is_one_malformed_record_with_the_batch_as_its_source() -> None:
    rules = proposed_rules(Induction(failure="no JSON"), BATCH, iteration=2, batch_index=1,
                           existing=[])  # fmt: skip
    assert [(r.id, r.status, r.reason, r.source_mistakes) for r in rules] == [
        ("r2-1-malformed", "malformed", "no JSON", ["m1", "m2"])
    ]


def test_rules_are_numbered_filtered_and_traced_to_their_mistakes() -> None:
    reply = TeacherReply(
        diagnosis="d",
        rules=[
            ProposedRule(rule=GENERAL, mistakes=[2, 9]),
            ProposedRule(rule="Add the cost of the honey jars to the total.", mistakes=[1]),
        ],
    )
    rules = proposed_rules(Induction(reply=reply), BATCH, iteration=1, batch_index=0,
                           existing=[])  # fmt: skip
    assert [r.id for r in rules] == ["r1-0-1", "r1-0-2"]
    assert rules[0].status == "proposed" and rules[0].source_mistakes == ["m2"]  # 9 is no mistake
    assert rules[1].status == "leak" and rules[1].source_mistakes == ["m1"]


def test_bare_fallback_keeps_a_general_rule_whose_illustration_retells_the_batch() -> None:
    retold = "Jo buys 3 jars of honey at 4 dollars, so 3 x 4 = 12 dollars."
    long_line = " ".join(["step"] * 45)
    reply = TeacherReply(
        diagnosis="d",
        rules=[
            ProposedRule(rule=GENERAL, example=retold, mistakes=[1]),
            ProposedRule(
                rule="When a price is per item, multiply it by the count.", example=long_line
            ),
            ProposedRule(
                rule="Add the cost of the honey jars.", example="2 pens at 3 each cost 6."
            ),
            ProposedRule(rule="Count the honey jars first.", example=long_line),
        ],
    )
    strict = proposed_rules(Induction(reply=reply), BATCH, iteration=1, batch_index=0, existing=[])
    assert [r.status for r in strict] == ["leak", "too_long", "leak", "too_long"]
    kept = proposed_rules(
        Induction(reply=reply), BATCH, iteration=1, batch_index=0, existing=[], bare_fallback=True
    )
    assert [(r.status, r.text) for r in kept[:2]] == [
        ("proposed", GENERAL),
        ("proposed", "When a price is per item, multiply it by the count."),
    ]
    assert kept[0].reason.startswith("illustration dropped: quotes ")
    assert kept[1].reason.startswith("illustration dropped: the illustration is not one line")
    # the rule itself names the batch's honey: no illustration can save it
    assert kept[2].status == "leak" and kept[2].text.endswith("Example: 2 pens at 3 each cost 6.")
    assert kept[2].reason == strict[2].reason  # one reason, said once
    # too long with its illustration, a leak without it: the ledger gives both reasons
    assert kept[3].status == "too_long" and kept[3].reason.startswith(strict[3].reason)
    assert "without its illustration: quotes 'honey'" in kept[3].reason


def rule(rule_id: str, text: str, iteration: int, status: str = "proposed") -> Rule:
    return Rule(id=rule_id, text=text, iteration=iteration, status=status)  # type: ignore[arg-type]


def test_near_duplicates_across_batches_are_marked_once() -> None:
    ledger = {
        "r1-0-1": rule("r1-0-1", GENERAL, 1, "accepted"),
        "r2-0-1": rule("r2-0-1", GENERAL, 2),  # repeats an earlier rule
        "r2-1-1": rule("r2-1-1", "When units differ, convert them to one unit first.", 2),
        "r2-2-1": rule("r2-2-1", "When units differ, convert them to one unit first!", 2),
    }
    updated, duplicates = drop_duplicates(ledger, 2)
    assert [r.id for r in duplicates] == ["r2-0-1", "r2-2-1"]
    assert updated["r2-1-1"].status == "proposed"
    assert {updated[i].status for i in ("r2-0-1", "r2-2-1")} == {"duplicate"}


def evidence(candidate: str, fixed: int, broken: int, stop: str) -> CandidateEvidence:
    return CandidateEvidence(
        candidate=candidate, race=1, incumbent=("r0",), stop=stop, seen=20,  # type: ignore[arg-type]
        examples=20, fixed=[f"f{i}" for i in range(fixed)], broken=[f"b{i}" for i in range(broken)],
        difference=(fixed - broken) / 20, statistic=0.0, reason="why",
    )  # fmt: skip


def test_decisions_carry_order_exact_p_and_the_shortening_flag() -> None:
    ledger = {"a": rule("a", "A.", 1), "b": rule("b", "B.", 1)}
    final = {"a": evidence("a", 6, 0, "accepted"), "b": evidence("b", 1, 1, "futility")}
    lengths = {("r0",): {"x": 100, "y": 100}, ("r0", "a"): {"x": 100, "y": 90},
               ("r0", "b"): {"x": 20, "y": 30}}  # fmt: skip
    a, b = decide_rules(ledger, final, ["a"], lengths, position=1)
    assert (a.status, a.accepted_order, b.status, b.accepted_order) == (
        "accepted",
        1,
        "rejected",
        None,
    )
    assert a.p_value == 1 / 64  # 6 fixed, 0 broken: one-sided exact, (1/2)^6
    assert b.p_value == 0.75  # 1 fixed of 2 discordant: P(X >= 1) = 3/4
    assert a.evidence["reply_length_ratio"] == 0.95 and "shrank" not in a.reason
    assert b.evidence["reply_length_ratio"] == 0.25 and "shrank to 25%" in b.reason
