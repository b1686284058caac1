"""Re-render a run's report from the files it wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio

from concept_distill.errors import ConfigError
from concept_distill.models import SpendReport
from concept_distill.records import Rule
from concept_distill.report.html import render_report


def _read(run_dir: Path) -> tuple[Any, list[Rule], Any, Any, SpendReport]:
    try:
        document = json.loads((run_dir / "optimized_prompt.json").read_text())
        rules = [
            Rule.model_validate_json(line)
            for line in (run_dir / "rules.jsonl").read_text().splitlines()
            if line.strip()
        ]
        metrics = json.loads((run_dir / "metrics.json").read_text())
        history = json.loads((run_dir / "history.json").read_text())
        spend = SpendReport.model_validate_json((run_dir / "spend.json").read_text())
    except FileNotFoundError as error:
        raise ConfigError(
            f"{run_dir} is not a finished run: {error.filename} is missing"
        ) from error
    except ValueError as error:
        raise ConfigError(f"{run_dir}: unreadable run file: {error}") from error
    return document, rules, metrics, history, spend


def _render(run_dir: Path) -> Path:
    html = render_report(*_read(run_dir))
    target = run_dir / "report.html"
    target.write_text(html, encoding="utf-8")
    return target


async def rerender_report(run_dir: Path) -> Path:
    """Rebuild report.html (in a worker thread: it reads files and draws a plot)."""
    return await anyio.to_thread.run_sync(_render, run_dir)
