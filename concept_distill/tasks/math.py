"""Math word problems (MultiArith, SVAMP, GSM8K): the final number, compared by value."""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

from concept_distill.errors import ConfigError
from concept_distill.records import Example
from concept_distill.tasks.base import Task
from concept_distill.tasks.datafiles import read_json_array, read_json_lines, require
from concept_distill.tasks.numbers import (
    extract_final_number,
    format_number,
    parse_number,
    same_number,
)

MATH_DESCRIPTION = (
    "Arithmetic word problems. The student must reason to a single final number; the reply is "
    "scored by the last stated answer (e.g. 'The answer is 18'), compared with the gold number."
)


CALCULATOR_MARK = re.compile(r"<<[^<>]*>>")
"""GSM8K's calculator annotations, e.g. `<<48/2=24>>`."""


class MathTask(Task):
    """A word-problem data set whose gold answer is one number."""

    description = MATH_DESCRIPTION

    def __init__(
        self, name: str, path: Path, reader: Callable[[Path], list[Example]], tolerance: float
    ) -> None:
        self.name = name
        self.path = path
        self._reader = reader
        self.tolerance = tolerance

    def load(self) -> list[Example]:
        """Read the data file (by default the copy shipped in the package)."""
        if not self.path.exists():
            raise ConfigError(
                f"{self.name}: data file not found: {self.path} (set task.path to a copy)"
            )
        return self._reader(self.path)

    def extract(self, example: Example, reply: str) -> str | None:
        """The reply's final number, normalised."""
        value = extract_final_number(reply)
        return None if value is None else format_number(value)

    def worked_solution(self, example: Example) -> str | None:
        """GSM8K's solution without its calculator marks, ending 'The answer is N.'.

        The data writes `48/2 = <<48/2=24>>24` and ends `#### 72`; a demonstration in that form
        would teach the student to write the marks.
        """
        solution = super().worked_solution(example)
        if solution is None:
            return None
        steps, _, gold = solution.rpartition("####")
        steps = CALCULATOR_MARK.sub("", steps).strip()
        return f"{steps}\nThe answer is {gold.strip()}." if steps else solution

    def score(self, example: Example, extracted: str) -> tuple[bool, str]:
        """Right when the numbers are equal within the tolerance."""
        found, gold = parse_number(extracted), parse_number(example.answer)
        if found is None or gold is None:
            return False, f"could not read a number from {extracted!r}"
        if same_number(found, gold, tolerance=self.tolerance):
            return True, ""
        return False, f"expected {format_number(gold)}, the reply's final answer was {extracted}"


def _number_text(value: Any, path: Path, where: str) -> str:
    parsed = parse_number(str(value))
    if parsed is None:
        raise ConfigError(f"{path} {where}: the answer {value!r} is not a number")
    return format_number(Fraction(parsed))


def read_multiarith(path: Path) -> list[Example]:
    """MultiArith JSON: sQuestion, lSolutions, iIndex."""
    examples = []
    for index, row in enumerate(read_json_array(path)):
        where = f"item {index}"
        solutions = require(path, where, row, "lSolutions")
        if not isinstance(solutions, list) or not solutions:
            raise ConfigError(f"{path} {where}: lSolutions must be a non-empty list")
        examples.append(
            Example(
                id=f"multiarith-{row.get('iIndex', index)}",
                question=str(require(path, where, row, "sQuestion")).strip(),
                answer=_number_text(solutions[0], path, where),
            )
        )
    return examples


def read_svamp(path: Path) -> list[Example]:
    """SVAMP JSON: Body, Question, Answer, ID."""
    examples = []
    for index, row in enumerate(read_json_array(path)):
        where = f"item {index}"
        body = str(require(path, where, row, "Body")).strip()
        question = str(require(path, where, row, "Question")).strip()
        examples.append(
            Example(
                id=f"svamp-{row.get('ID', index)}",
                question=f"{body.rstrip('.')}. {question}",
                answer=_number_text(require(path, where, row, "Answer"), path, where),
            )
        )
    return examples


def read_gsm8k(path: Path) -> list[Example]:
    """GSM8K JSONL: question, answer ending in '#### N'."""
    examples = []
    for number, row in enumerate(read_json_lines(path), start=1):
        where = f"line {number}"
        solution = str(require(path, where, row, "answer"))
        if "####" not in solution:
            raise ConfigError(f"{path} {where}: the answer has no '#### N' line")
        gold = solution.rsplit("####", 1)[1]
        examples.append(
            Example(
                id=f"gsm8k-{number - 1}",
                question=str(require(path, where, row, "question")).strip(),
                answer=_number_text(gold, path, where),
                meta={"solution": solution},
            )
        )
    return examples


# Task name -> (reader, file name in the package's data directory or in `task.data_dir`).
MATH_READERS: dict[str, tuple[Callable[[Path], list[Example]], str]] = {
    "multiarith": (read_multiarith, "multiarith.json"),
    "svamp": (read_svamp, "svamp.json"),
    "gsm8k": (read_gsm8k, "gsm8k-test.jsonl"),
}
