"""The run's outputs: optimized prompt (JSON + text), rule ledger, spend, metrics, HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio

from concept_distill.agents.student_prompt import StudentPrompt
from concept_distill.models import SpendReport
from concept_distill.records import IterationRecord, Rule, RunMetrics
from concept_distill.report.html import render_report
from concept_distill.report.prompt import PROMPT_JSON, PROMPT_TEXT
from concept_distill.report.run_dir import RunDirectory

PROMPT_FORMAT = "concept-distill/optimized-prompt@2"
"""@2 added `placement` and `user_template`; @1 (rules always in the system prompt) still loads."""


def optimized_prompt_document(prompt: StudentPrompt, accepted: list[Rule]) -> dict[str, Any]:
    """A small JSON document usable without this package: the prompt and where it came from.

    `prompt` is the system message and `user_template` the user message with `{problem}` where
    the problem goes; `rules` are in acceptance order, the order they have in the prompt.
    """
    return {
        "format": PROMPT_FORMAT,
        "prompt": prompt.system,
        "base_prompt": prompt.base,
        "placement": prompt.placement,
        "user_template": prompt.user("{problem}"),
        "rules": [{"id": rule.id, "text": rule.text} for rule in accepted],
    }


async def write_run_outputs(
    run_dir: RunDirectory,
    *,
    prompt: StudentPrompt,
    accepted: list[Rule],
    rules: list[Rule],
    metrics: RunMetrics,
    history: list[IterationRecord],
    spend: SpendReport,
) -> Path:
    """Write every output file of a finished run; returns the report's path."""
    document = optimized_prompt_document(prompt, accepted)
    metrics_json = metrics.model_dump(mode="json")
    history_json = [record.model_dump(mode="json") for record in history]
    # Both files hold exactly the same prompt (no trailing newline added to the text file), so
    # `eval --prompt` sends the same request whichever of the two it is given.
    await run_dir.write_json(PROMPT_JSON, document)
    await run_dir.write_text(PROMPT_TEXT, prompt.system)
    await run_dir.write_jsonl("rules.jsonl", rules)
    await run_dir.write_json("spend.json", spend)
    await run_dir.write_json("metrics.json", metrics_json)
    await run_dir.write_json("history.json", history_json)
    html = await anyio.to_thread.run_sync(
        render_report, document, rules, metrics_json, history_json, spend
    )
    return await run_dir.write_text("report.html", html)
