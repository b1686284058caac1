"""`--dry-run` bounds: known values of `plan_spend` (worked out by hand below)."""

from __future__ import annotations

from concept_distill.config import Config
from concept_distill.planning import plan_spend


def config(**sections: object) -> Config:
    return Config.model_validate(
        {
            "task": {"name": "multiarith"},
            "models": {"student": {"base_url": "http://x/v1", "model": "s", "max_tokens": 100},
                       "teacher": {"base_url": "http://x/v1", "model": "t", "max_tokens": 500}},
            "loop": {"max_iterations": 2, "batches_per_round": 1, "rules_per_batch": 2,
                     "teacher_prompt_tokens": 1000},
            "concurrency": 8,
            **sections,
        }
    )  # fmt: skip


def test_racing_rounds_audit_and_test_pass_are_all_bounded() -> None:
    plan = plan_spend(config(), train=10, validation=20, test=10, question_chars=0)
    # 2 candidates; a round at worst: race 1 runs both over 20 examples (40), race 2 the other
    # (20): 60, plus the incumbent's 20 when unknown, plus racing's new incumbent's rest (20):
    # 100; plus the train re-check (10) = 110. Two rounds: 220. Initialization: 10 + 20.
    # Audit of at most 4 accepted rules: the full prompt and each left out, 5 x 20 = 100.
    # Test: base and final on 10 = 20.  10 + 20 + 220 + 100 + 20 = 370.
    assert plan.student_calls == 370
    assert plan.candidates_per_round == 2
    # One teacher call per batch per round.
    assert plan.teacher_calls == 2
    assert plan.teacher_tokens == 2 * (1000 + 500)


def test_a_student_budget_caps_the_loop_but_not_the_test_pass() -> None:
    plan = plan_spend(
        config(budget={"student_calls": 100}), train=10, validation=20, test=10, question_chars=0
    )
    # The loop stops at 100 calls plus at most the 8 in flight; the test pass adds 20.
    assert plan.student_calls == 128


def test_teacher_samples_and_solving_first_multiply_teacher_calls() -> None:
    loop = {"max_iterations": 3, "batches_per_round": 2, "rules_per_batch": 1,
            "teacher_samples": 2, "teacher_solves_first": True, "mistakes_per_batch": 4}  # fmt: skip
    plan = plan_spend(config(loop=loop), train=1, validation=1, test=1, question_chars=0)
    # Per batch: 2 samples + 4 solutions = 6 calls; 2 batches x 3 rounds = 36.
    assert plan.teacher_calls == 36
    assert plan.candidates_per_round == 4
