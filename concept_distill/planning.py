"""`--dry-run`: the most calls a run can make and a token bound per role; nothing is spent.

The bounds are a pure function of the split sizes and the loop settings (`plan_spend`), so they
can be tested with known values; `plan_run` reads the data to get the sizes and renders a table.
"""

from __future__ import annotations

import anyio
from pydantic import BaseModel, ConfigDict
from rich.table import Table

from concept_distill.agents.prompts import MAX_WORDS, estimate_tokens
from concept_distill.agents.student_prompt import RULES_HEADER
from concept_distill.config import Config, LocalRole
from concept_distill.errors import ConfigError
from concept_distill.loop.audit import audit_call_bound
from concept_distill.loop.rounds import round_call_bound
from concept_distill.tasks import build_task, make_splits

CHARS_PER_WORD = 8
"""A generous bound on characters per word of a rule (with its space and punctuation)."""


class SpendPlan(BaseModel):
    """Upper bounds of one run's model calls and tokens, by role."""

    model_config = ConfigDict(frozen=True)

    student_calls: int
    student_tokens: int
    teacher_calls: int
    teacher_tokens: int
    candidates_per_round: int


def plan_spend(
    config: Config, *, train: int, validation: int, test: int, question_chars: int
) -> SpendPlan:
    """The most a run can spend: every round at its worst, the audit, and the test pass.

    A student budget caps the loop (initialization, rounds, audit) at the budget plus the calls
    in flight when it is reached; the test pass is outside the budget and always runs.
    """
    loop = config.loop
    candidates = loop.batches_per_round * loop.rules_per_batch * loop.teacher_samples
    per_round = round_call_bound(validation, candidates, incumbent_known=False) + train
    accepted_at_most = loop.max_iterations * candidates
    loop_calls = (
        train
        + validation
        + loop.max_iterations * per_round
        + audit_call_bound(validation, accepted_at_most)
    )
    if config.budget.student_calls:
        loop_calls = min(loop_calls, config.budget.student_calls + config.concurrency)
    student_calls = loop_calls + 2 * test
    rules_chars = len(RULES_HEADER) + accepted_at_most * MAX_WORDS * CHARS_PER_WORD
    prompt_chars = question_chars + len(config.prompt.base) + rules_chars
    student_prompt = estimate_tokens("x" * prompt_chars, loop.chars_per_token)
    student_tokens = student_calls * (student_prompt + _max_tokens(config.models.student))
    per_batch_calls = loop.teacher_samples + (
        loop.mistakes_per_batch if loop.teacher_solves_first else 0
    )
    teacher_calls = loop.max_iterations * loop.batches_per_round * per_batch_calls
    teacher_tokens = teacher_calls * (
        loop.teacher_prompt_tokens + _max_tokens(config.models.teacher)
    )
    return SpendPlan(
        student_calls=student_calls,
        student_tokens=student_tokens,
        teacher_calls=teacher_calls,
        teacher_tokens=teacher_tokens,
        candidates_per_round=candidates,
    )


async def plan_run(config: Config) -> Table:
    """Upper bounds from the splits and loop settings (data is read; no model is called)."""

    def load() -> tuple[int, int, int, int]:
        task = build_task(
            config.task.name, path=config.task.path, data_dir=config.task.data_dir,
            scorer=config.task.scorer, fields=config.task.fields,
        )  # fmt: skip
        splits = make_splits(task.load(), config.splits)
        every = [example for split in splits.values() for example in split]
        longest = max((len(task.render(example)) for example in every), default=0)
        return len(splits["train"]), len(splits["validation"]), len(splits["test"]), longest

    if config.models.teacher is None:
        raise ConfigError("models.teacher: a distillation needs a teacher model")
    if config.models.student is None:
        raise ConfigError("models.student: no student model")
    train, validation, test, longest = await anyio.to_thread.run_sync(load)
    plan = plan_spend(config, train=train, validation=validation, test=test, question_chars=longest)
    table = Table(title=f"dry run: {config.task.name} (upper bounds; nothing was called)")
    for column in ("role", "model", "calls at most", "tokens at most"):
        table.add_column(column)
    table.add_row(
        "student",
        _name(config.models.student),
        str(plan.student_calls),
        f"{plan.student_tokens:,}",
    )
    teacher = config.models.teacher
    table.add_row("teacher", _name(teacher), str(plan.teacher_calls), f"{plan.teacher_tokens:,}")
    table.caption = (
        f"splits: train {train}, validation {validation}, test {test}; up to "
        f"{config.loop.max_iterations} rounds of {plan.candidates_per_round} candidate rule(s), "
        f"{config.acceptance.policy} acceptance; cached replies are free"
    )
    return table


def _max_tokens(spec: object, default: int = 1024) -> int:
    value = getattr(spec, "max_tokens", None)
    return int(value) if value else default


def _name(spec: object) -> str:
    if spec is None:
        return "(none)"
    if isinstance(spec, LocalRole):
        return f"local:{spec.local}"
    return str(getattr(spec, "model", "?"))
