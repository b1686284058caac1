"""`--dry-run`: the most calls a run can make and a token estimate per role; nothing is spent."""

from __future__ import annotations

import anyio
from rich.table import Table

from concept_distill.config import Config, LocalRole
from concept_distill.tasks import build_task, make_splits


def _max_tokens(spec: object, default: int = 1024) -> int:
    value = getattr(spec, "max_tokens", None)
    return int(value) if value else default


async def plan_run(config: Config) -> Table:
    """Upper bounds from the splits and loop settings (data is read; no model is called)."""

    def load() -> tuple[int, int, int, int]:
        task = build_task(
            config.task.name, path=config.task.path, data_dir=config.task.data_dir,
            scorer=config.task.scorer, fields=config.task.fields,
        )  # fmt: skip
        splits = make_splits(task.load(), config.splits)
        every = [example for split in splits.values() for example in split]
        average = sum(len(task.render(example)) for example in every) // max(1, len(every))
        return len(splits["train"]), len(splits["validation"]), len(splits["test"]), average

    train, validation, test, average_chars = await anyio.to_thread.run_sync(load)
    loop = config.loop
    candidates = loop.batches_per_round * loop.rules_per_batch
    # Greedy acceptance can re-try candidates after each acceptance: at most candidates^2 / 2.
    per_round = validation * candidates * (candidates + 1) // 2 + train
    student_calls = train + validation + loop.max_iterations * per_round + 2 * test
    teacher_calls = loop.max_iterations * loop.batches_per_round
    student_prompt = int((average_chars + len(config.prompt.base) + 400) / loop.chars_per_token)
    student_tokens = student_calls * (student_prompt + _max_tokens(config.models.student))
    teacher_tokens = teacher_calls * (
        loop.teacher_prompt_tokens + _max_tokens(config.models.teacher, 1024)
    )
    table = Table(title=f"dry run: {config.task.name} (upper bounds; nothing was called)")
    for column in ("role", "model", "calls at most", "tokens at most"):
        table.add_column(column)
    table.add_row(
        "student", _name(config.models.student), str(student_calls), f"{student_tokens:,}"
    )
    teacher = config.models.teacher
    table.add_row("teacher", _name(teacher), str(teacher_calls), f"{teacher_tokens:,}")
    table.caption = (
        f"splits: train {train}, validation {validation}, test {test}; up to "
        f"{loop.max_iterations} rounds of {candidates} candidate rule(s); cached replies are free"
    )
    return table


def _name(spec: object) -> str:
    if spec is None:
        return "(none)"
    if isinstance(spec, LocalRole):
        return f"local:{spec.local}"
    return str(getattr(spec, "model", "?"))
