"""Reply length and cut-off measures: known values."""

from __future__ import annotations

from concept_distill.loop.evaluation import Evaluation, length_note, length_ratio, reply_tokens
from concept_distill.records import Attempt, ExampleResult, Judgement


def result(
    example_id: str, tokens: int, finish: str | None, error: str | None = None
) -> ExampleResult:
    attempt = Attempt(example_id=example_id, reply="x", completion_tokens=tokens,
                      finish_reason=finish, error=error)  # fmt: skip
    return ExampleResult(example_id=example_id, attempt=attempt,
                         judgement=Judgement(outcome="wrong"))  # fmt: skip


def test_cut_share_counts_replies_stopped_by_the_token_cap() -> None:
    evaluation = Evaluation(
        prompt="p",
        results=[result("a", 256, "length"), result("b", 40, "stop"), result("c", 256, "length"),
                 result("d", 0, None, error="down")],
        seconds=1.0,
    )  # fmt: skip
    assert evaluation.cut_share == 0.5  # 2 of 4
    # The failed call has no reply: (256 + 40 + 256) / 3 = 184.
    assert evaluation.mean_completion_tokens == 184.0
    assert reply_tokens(evaluation) == {"a": 256, "b": 40, "c": 256}


def test_length_ratio_on_shared_examples_only() -> None:
    incumbent = {"a": 200, "b": 100, "c": 50}
    candidate = {"a": 50, "b": 25, "z": 999}
    # Shared: a and b. (50 + 25) / (200 + 100) = 0.25; z is not compared.
    assert length_ratio(candidate, incumbent) == 0.25
    assert length_ratio({}, incumbent) is None
    assert length_ratio({"a": 3}, {"a": 0}) is None


def test_length_notes_flag_shrinking_and_growing_replies_only() -> None:
    assert length_note(None) is None
    assert length_note(1.0) is None
    assert length_note(0.6) is None and length_note(1.2) is None  # the bounds themselves pass
    assert length_note(0.25) == "replies shrank to 25% of the incumbent's length"
    assert length_note(1.5) == (
        "replies grew to 150% of the incumbent's length (more are cut at max_tokens)"
    )
