"""A user's own data set: one JSON object per line, scored by a named scorer."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from concept_distill.errors import ConfigError
from concept_distill.records import Example
from concept_distill.tasks.base import Task
from concept_distill.tasks.code import program_from_reply
from concept_distill.tasks.datafiles import read_json_lines, require
from concept_distill.tasks.math import MathTask
from concept_distill.tasks.numbers import extract_final_number, format_number

BuiltinScorer = Literal["exact", "numeric", "regex", "code"]
_ANSWER_LINE = re.compile(r"answer\W{0,3}\s*(?:is\b|=|:)\s*:?\s*(.+)", re.IGNORECASE)


class JsonlFields(BaseModel):
    """Which fields of each line hold what."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = Field(None, description="Id field; default: the line number.")
    input: str = Field("input", description="The problem text shown to the student.")
    answer: str = Field("answer", description="The expected answer (or regex for `regex`).")
    test: str = Field("test", description="Test code, for the `code` scorer.")
    entry_point: str = Field("entry_point", description="Function the tests call (`code`).")
    solution: str | None = Field(
        None,
        description="Optional worked-solution field: shown to the teacher, never to the student.",
    )


def final_line_answer(reply: str) -> str | None:
    """The text after the last 'answer is/:' phrase, else the last non-empty line."""
    phrases = _ANSWER_LINE.findall(reply)
    if phrases:
        return str(phrases[-1]).strip().strip("*").strip().rstrip(".")
    lines = [line.strip() for line in reply.splitlines() if line.strip()]
    return lines[-1] if lines else None


class JsonlTask(Task):
    """Examples from a JSONL file; `scorer` is a built-in name or `module:function`."""

    def __init__(self, path: Path, scorer: str, fields: JsonlFields, description: str) -> None:
        self.name = f"jsonl:{path.name}"
        self.path = path
        self.scorer = scorer
        self.fields = fields
        self.description = description
        self.checks_code = scorer == "code"
        self._custom = _import_scorer(scorer) if ":" in scorer else None
        if self._custom is None and scorer not in ("exact", "numeric", "regex", "code"):
            raise ConfigError(f"unknown scorer {scorer!r}: use exact, numeric, regex, code or m:f")

    def load(self) -> list[Example]:
        """Read and check every line before any model call."""
        examples: list[Example] = []
        lines: dict[str, int] = {}
        for number, row in enumerate(read_json_lines(self.path), start=1):
            example = self._example(row, number)
            if example.id in lines:
                raise ConfigError(
                    f"{self.path}: duplicate id {example.id!r} on lines {lines[example.id]} "
                    f"and {number}"
                )
            lines[example.id] = number
            examples.append(example)
        return examples

    def _example(self, row: dict[str, Any], number: int) -> Example:
        where, fields = f"line {number}", self.fields
        tests = str(require(self.path, where, row, fields.test)) if self.checks_code else ""
        answer = row.get(fields.answer, "") if self.checks_code else None
        if answer is None:
            answer = require(self.path, where, row, fields.answer)
        if self.scorer == "regex":
            _compile(str(answer), self.path, where)
        return Example(
            id=str(row[fields.id]) if fields.id and fields.id in row else f"line-{number}",
            question=str(require(self.path, where, row, fields.input)),
            answer=str(answer),
            tests=tests,
            entry_point=str(row[fields.entry_point]) if fields.entry_point in row else None,
            meta=_meta(row, fields),
        )

    def extract(self, example: Example, reply: str) -> str | None:
        """What the scorer looks at: a program, a number, the final line, or the whole reply."""
        if self.checks_code:
            return program_from_reply("", example.entry_point or "", reply) if reply else None
        if self.scorer == "numeric":
            value = extract_final_number(reply)
            return None if value is None else format_number(value)
        if self.scorer == "exact":
            return final_line_answer(reply)
        return reply if reply.strip() else None

    def score(self, example: Example, extracted: str) -> tuple[bool, str]:
        """Apply the configured scorer."""
        if self._custom is not None:
            return _call_custom(self._custom, example, extracted)
        if self.scorer == "numeric":
            return MathTask.score(_NUMERIC, example, extracted)
        if self.scorer == "regex":
            if re.search(example.answer, extracted):
                return True, ""
            return False, f"the reply does not match the expected pattern {example.answer!r}"
        if extracted.strip().casefold() == example.answer.strip().casefold():
            return True, ""
        return False, f"expected {example.answer!r}, the reply's answer was {extracted!r}"


def _meta(row: dict[str, Any], fields: JsonlFields) -> dict[str, Any]:
    """The row's other fields; the solution field, if named, under the `solution` key."""
    meta = {k: v for k, v in row.items() if k not in fields.model_dump().values()}
    if fields.solution is not None and row.get(fields.solution) not in (None, ""):
        meta["solution"] = str(row[fields.solution])
    return meta


class _NumericScoring:
    tolerance = 1e-6


_NUMERIC: Any = _NumericScoring()


def _compile(pattern: str, path: Path, where: str) -> None:
    try:
        re.compile(pattern)
    except re.error as error:
        raise ConfigError(f"{path} {where}: bad regex answer: {error}") from error


def _import_scorer(spec: str) -> Callable[..., Any]:
    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise ConfigError(f"scorer {spec!r}: expected module:function")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as error:
        where = f"{error.filename}, line {error.lineno}" if error.filename else "its source"
        raise ConfigError(
            f"scorer {spec!r}: module {module_name!r} has a syntax error ({where}): {error.msg}"
        ) from error
    except ImportError as error:
        raise ConfigError(f"cannot import scorer {spec!r}: {error}") from error
    except Exception as error:
        # A user's module runs on import; whatever it raises is their input's fault.
        first = " ".join(str(error).split())[:200]
        raise ConfigError(
            f"scorer {spec!r}: importing module {module_name!r} raised "
            f"{type(error).__name__}: {first}"
        ) from error
    function = getattr(module, function_name, None)
    if function is None:
        raise ConfigError(f"scorer {spec!r}: module {module_name!r} has no {function_name!r}")
    if not callable(function):
        raise ConfigError(f"scorer {spec!r} is not callable")
    return function  # type: ignore[no-any-return]


def _call_custom(function: Callable[..., Any], example: Example, reply: str) -> tuple[bool, str]:
    """A user scorer returns a bool or (bool, reason); if it raises, that is recorded as wrong."""
    try:
        result = function(example, reply)
    except Exception as error:
        return False, f"the scorer raised {type(error).__name__}: {error}"
    if isinstance(result, tuple):
        return bool(result[0]), str(result[1]) if len(result) > 1 else ""
    return bool(result), "" if result else "the scorer rejected the answer"
