"""Known-value tests of `merge_rules`, the reducer of the state's rule ledger."""

from __future__ import annotations

from concept_distill.graph.state import JsonRecord, merge_rules


def rule(rule_id: str, status: str = "proposed") -> JsonRecord:
    return {"id": rule_id, "text": f"rule {rule_id}", "iteration": 1, "status": status}


def test_union_by_id_keeps_first_seen_order() -> None:
    old = [rule("r1-0-0"), rule("r1-0-1")]
    new = [rule("r1-1-0"), rule("r1-0-0")]
    merged = merge_rules(old, new)
    assert [r["id"] for r in merged] == ["r1-0-0", "r1-0-1", "r1-1-0"]


def test_a_newer_record_replaces_the_older_one_in_place() -> None:
    old = [rule("a"), rule("b"), rule("c")]
    merged = merge_rules(old, [rule("b", "accepted")])
    assert [(r["id"], r["status"]) for r in merged] == [
        ("a", "proposed"),
        ("b", "accepted"),
        ("c", "proposed"),
    ]
    # Within one update the last record of an id wins too.
    twice = merge_rules([], [rule("a", "rejected"), rule("a", "accepted")])
    assert twice == [rule("a", "accepted")]


def test_a_parent_writing_back_the_whole_ledger_duplicates_nothing() -> None:
    ledger = [rule("a"), rule("b", "accepted")]
    assert merge_rules(ledger, list(ledger)) == ledger


def test_none_inputs() -> None:
    assert merge_rules(None, None) == []
    assert merge_rules(None, [rule("a")]) == [rule("a")]
    assert merge_rules([rule("a")], None) == [rule("a")]
    assert merge_rules([], []) == []


def test_inputs_are_not_modified() -> None:
    old, new = [rule("a")], [rule("a", "accepted")]
    merge_rules(old, new)
    assert old == [rule("a")] and new == [rule("a", "accepted")]
