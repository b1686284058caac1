"""Re-render a run's report from the files it wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
from pydantic import ValidationError

from concept_distill.errors import ConfigError, first_validation_problem
from concept_distill.models import SpendReport
from concept_distill.records import Rule
from concept_distill.report.html import render_report
from concept_distill.report.run_dir import atomic_write

_FILES = ("optimized_prompt.json", "rules.jsonl", "metrics.json", "history.json", "spend.json")


def _text(run_dir: Path, name: str) -> str:
    path = run_dir / name
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise ConfigError(f"{run_dir} is not a finished run: {path} is missing") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text (byte {error.start})") from error
    except OSError as error:
        raise ConfigError(f"{path}: cannot read it ({error.strerror or error})") from error


def _json(run_dir: Path, name: str, shape: type[dict[str, Any]] | type[list[Any]]) -> Any:
    try:
        value = json.loads(_text(run_dir, name))
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{run_dir / name}: line {error.lineno}, column {error.colno}: bad JSON: {error.msg}"
        ) from error
    if not isinstance(value, shape):
        expected = "object" if shape is dict else "array"
        got = type(value).__name__
        raise ConfigError(f"{run_dir / name}: expected a JSON {expected}, got a {got}")
    return value


def _read(run_dir: Path) -> tuple[Any, list[Rule], Any, Any, SpendReport]:
    if not run_dir.is_dir():
        raise ConfigError(
            f"{run_dir} is not a run directory" + (" (it is a file)" if run_dir.exists() else "")
        )
    document = _json(run_dir, "optimized_prompt.json", dict)
    rules = []
    for number, line in enumerate(_text(run_dir, "rules.jsonl").splitlines(), start=1):
        if line.strip():
            try:
                rules.append(Rule.model_validate_json(line))
            except ValidationError as error:
                problem = first_validation_problem(error)
                raise ConfigError(f"{run_dir / 'rules.jsonl'} line {number}: {problem}") from error
    metrics = _json(run_dir, "metrics.json", dict)
    history = _json(run_dir, "history.json", list)
    if not all(isinstance(record, dict) for record in history):
        raise ConfigError(f"{run_dir / 'history.json'}: expected a list of JSON objects")
    try:
        spend = SpendReport.model_validate_json(_text(run_dir, "spend.json"))
    except ValidationError as error:
        problem = first_validation_problem(error)
        raise ConfigError(f"{run_dir / 'spend.json'}: {problem}") from error
    return document, rules, metrics, history, spend


def _render(run_dir: Path) -> Path:
    files = _read(run_dir)
    try:
        html = render_report(*files)
    except (KeyError, TypeError, ValueError) as error:
        # The files parsed, but a value inside has the wrong shape (a run of another version?).
        raise ConfigError(
            f"{run_dir}: run files of an unexpected shape ({', '.join(_FILES)}): "
            f"{type(error).__name__}: {error}"
        ) from error
    target = run_dir / "report.html"
    atomic_write(target, html)  # as every run file: a crash never leaves half a report
    return target


async def rerender_report(run_dir: Path) -> Path:
    """Rebuild report.html (in a worker thread: it reads files and draws a plot).

    Raises:
        ConfigError: when `run_dir` is not a finished run or a file in it has the wrong shape.
    """
    return await anyio.to_thread.run_sync(_render, run_dir)
