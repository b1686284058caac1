"""The teacher-tips baseline: sets of general rules, each scored on validation, the best kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.fakes import HELPFUL, USELESS, make_config
from support.roles import student_model

from concept_distill import load_optimized_prompt
from concept_distill.agents.student_prompt import StudentPrompt
from concept_distill.baselines import (
    TipSet,
    best_tip_set,
    tips_baseline,
    tips_prompt_document,
    unscored_tip_sets,
)
from concept_distill.testing import ScriptedChatModel

pytestmark = pytest.mark.anyio


def test_the_best_set_has_the_most_right_and_the_first_wins_a_tie() -> None:
    sets = [
        TipSet(index=0, rules=["a"], correct=5, examples=10),
        TipSet(index=1, rules=["b"], correct=7, examples=10),
        TipSet(index=2, rules=["c"], correct=7, examples=10),
        TipSet(index=3, failure="malformed teacher output"),
    ]
    best = best_tip_set(sets)
    assert best is not None and best.index == 1
    assert best_tip_set([TipSet(index=0, failure="teacher call failed")]) is None


def test_a_failed_or_empty_reply_is_a_set_that_says_why() -> None:
    sets = unscored_tip_sets(["teacher call failed", [], ["Check units."]])
    assert [(s.index, s.rules, s.failure) for s in sets] == [
        (0, [], "teacher call failed"),
        (1, [], "no rules"),
        (2, ["Check units."], ""),
    ]
    assert all(s.examples == 0 for s in sets)


def test_the_prompt_file_holds_the_chosen_set_in_order_or_the_bare_base() -> None:
    base = StudentPrompt(base="You are a solver.", placement="system")
    chosen = TipSet(index=7, rules=["Check units.", "Show each step."], correct=48, examples=150)
    document = tips_prompt_document(base, chosen)
    assert [rule["id"] for rule in document["rules"]] == ["tips-7-0", "tips-7-1"]
    assert document["base_prompt"] == "You are a solver."
    assert document["prompt"].index("Check units.") < document["prompt"].index("Show each step.")
    none = tips_prompt_document(base, None)
    assert none["rules"] == [] and none["prompt"] == "You are a solver."


async def test_each_set_is_scored_apart_and_the_helpful_one_is_kept(tmp_path: Path) -> None:
    replies = iter(
        [
            json.dumps({"diagnosis": "-", "rules": [{"rule": USELESS, "mistakes": []}]}),
            json.dumps({"diagnosis": "-", "rules": [{"rule": HELPFUL, "mistakes": []}]}),
            "this is not JSON",
        ]
    )
    asked: list[Any] = []

    def teacher_reply(messages: list[Any]) -> str:
        asked.append(messages)
        return next(replies, "still not JSON")  # a malformed reply is asked to repair

    teacher = ScriptedChatModel(role="teacher", reply=teacher_reply)
    config = make_config(tmp_path)
    events: list[dict[str, Any]] = []
    result = await tips_baseline(
        config, 3, tmp_path / "tips", student=student_model(), teacher=teacher,
        on_event=events.append,
    )  # fmt: skip
    # No mistake is shown: the teacher sees the task and the prompt only.
    assert all("No mistakes are shown" in str(m[1]["content"]) for m in asked)
    by_rules = {tuple(s.rules): s for s in result.sets}
    helpful, useless = by_rules[(HELPFUL,)], by_rules[(USELESS,)]
    assert helpful.correct > useless.correct and helpful.examples == 16
    assert [s.failure.startswith("malformed") for s in result.sets].count(True) == 1
    assert result.best == helpful
    prompt = load_optimized_prompt(result.prompt_file)
    assert prompt.rules == (HELPFUL,) or HELPFUL in prompt.system
    saved = [json.loads(line) for line in (tmp_path / "tips" / "tips.jsonl").open()]
    assert len(saved) == 3
    assert (tmp_path / "tips" / "results").is_dir()
    # Progress for the views: the bound first, a phase per scored set, one event per reply.
    phases = [e for e in events if e["event"] == "phase"]
    assert phases[0]["student_calls_at_most"] == 3 * 16
    assert [p["phase"] for p in phases[1:]] == ["validate tip set 1/3", "validate tip set 2/3"]
    # The same phases in the run's own log, for a run left in the background.
    logged = (tmp_path / "tips" / "run.log").read_text(encoding="utf-8")
    assert '"phase": "teacher tips"' in logged and '"phase": "validate tip set 2/3"' in logged
    replies = [e for e in events if e["event"] == "example"]
    assert len(replies) == 2 * 16
    assert {e["label"] for e in replies} == {"validation-tips-0", "validation-tips-1"}
    assert max(e["done"] for e in replies) == 16 and {e["total"] for e in replies} == {16}
