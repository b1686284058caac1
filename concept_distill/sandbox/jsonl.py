"""Reading sandbox jobs from JSON Lines, with one-line errors that name the file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from concept_distill.errors import ConfigError, first_validation_problem
from concept_distill.sandbox.supervisor import SandboxJob


class JobLine(BaseModel):
    """One input line: a program, its tests, and an optional HumanEval entry point."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str | int
    code: str
    test: str
    entry_point: str | None = None
    trusted: str = ""

    def job(self) -> SandboxJob:
        """The sandbox job this line describes."""
        return SandboxJob(
            program=self.code, tests=self.test, entry_point=self.entry_point, trusted=self.trusted
        )


def read_job_lines(path: Path) -> list[JobLine]:
    """Parse every non-blank line; the first bad one raises ConfigError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from error
    lines: list[JobLine] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip():
            lines.append(_parse(path, number, raw))
    if not lines:
        raise ConfigError(f"{path}: no jobs (the file is empty)")
    return lines


def _parse(path: Path, number: int, raw: str) -> JobLine:
    try:
        data: Any = json.loads(raw)
    except ValueError as error:
        raise ConfigError(f"{path} line {number}: bad JSON: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path} line {number}: expected a JSON object")
    try:
        return JobLine.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{path} line {number}: {first_validation_problem(error)}") from error
