"""Tasks: data sets, how the student sees them, and how answers are found and scored."""

from pathlib import Path

from concept_distill.errors import ConfigError
from concept_distill.tasks.base import Task
from concept_distill.tasks.datafiles import shipped_data_file
from concept_distill.tasks.humaneval import HumanEvalTask
from concept_distill.tasks.jsonl import JsonlFields, JsonlTask
from concept_distill.tasks.math import MATH_READERS, MathTask
from concept_distill.tasks.splits import SplitConfig, make_splits, split_assignment

__all__ = [
    "HumanEvalTask",
    "JsonlFields",
    "JsonlTask",
    "MathTask",
    "SplitConfig",
    "Task",
    "build_task",
    "make_splits",
    "split_assignment",
]


def build_task(
    name: str,
    *,
    path: Path | None = None,
    data_dir: Path | None = None,
    scorer: str = "exact",
    fields: JsonlFields | None = None,
    description: str | None = None,
    tolerance: float = 1e-6,
) -> Task:
    """The task a config names.

    A built-in math task reads `path` if given, else its standard file name in `data_dir` if
    given, else the copy shipped in the package.
    """
    task: Task
    if name == "humaneval":
        task = HumanEvalTask(path)
    elif name in MATH_READERS:
        reader, filename = MATH_READERS[name]
        default = data_dir / filename if data_dir is not None else shipped_data_file(filename)
        task = MathTask(name, path or default, reader, tolerance)
    elif name == "jsonl":
        if path is None:
            raise ConfigError("task jsonl needs a path")
        task = JsonlTask(path, scorer, fields or JsonlFields(), description or "Answer the task.")
    else:
        raise ConfigError(f"unknown task {name!r}")
    if description:
        task.description = description
    return task
