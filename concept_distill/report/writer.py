"""The run's outputs: optimized prompt (JSON + text), rule ledger, spend, metrics, HTML report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio

from concept_distill.models import SpendReport
from concept_distill.records import Rule
from concept_distill.report.html import render_report
from concept_distill.report.run_dir import RunDirectory


def optimized_prompt_document(state: Mapping[str, Any]) -> dict[str, Any]:
    """A small JSON document usable without this package: the prompt and where it came from."""
    rules: list[Rule] = list(state.get("rules", []))
    accepted = [rule for rule in rules if rule.status == "accepted"]
    return {
        "format": "concept-distill/optimized-prompt@1",
        "prompt": state.get("optimized_prompt", ""),
        "base_prompt": state.get("base_prompt", ""),
        "rules": [{"id": rule.id, "text": rule.text} for rule in accepted],
    }


async def write_run_outputs(
    run_dir: RunDirectory, state: Mapping[str, Any], metrics: dict[str, Any], spend: SpendReport
) -> None:
    """Write every output file of a finished run."""
    document = optimized_prompt_document(state)
    rules: list[Rule] = list(state.get("rules", []))
    await run_dir.write_json("optimized_prompt.json", document)
    await run_dir.write_text("optimized_prompt.txt", str(document["prompt"]) + "\n")
    await run_dir.write_jsonl("rules.jsonl", rules)
    await run_dir.write_json("spend.json", spend)
    await run_dir.write_json("metrics.json", metrics)
    await run_dir.write_json("history.json", list(state.get("history", [])))
    html = await anyio.to_thread.run_sync(
        render_report, document, rules, metrics, list(state.get("history", [])), spend
    )
    await run_dir.write_text("report.html", html)
