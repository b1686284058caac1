"""A self-contained HTML report: before/after on test, accuracy per iteration, rules, spend."""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING, Any

from concept_distill.models import SpendReport
from concept_distill.records import Rule

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f3f3f3}.accepted{background:#e8f7e8}
.rejected{background:#fbeaea}pre{white-space:pre-wrap;background:#f7f7f7;padding:1em}
"""


def _pct(value: Any) -> str:
    return f"{100 * float(value):.1f}%" if isinstance(value, int | float) else "n/a"


def _points(value: Any, unit: str = " points") -> str:
    """A difference in percentage points, or n/a when not measured (yet)."""
    if not isinstance(value, int | float):
        return "n/a"
    return f"{100 * float(value):+.1f}{unit}"


def accuracy_figure(history: list[dict[str, Any]]) -> Figure:
    """Validation accuracy per iteration; iterations are whole numbers, and so are the ticks.

    Built on `Figure` directly, not pyplot: pyplot's global state is not thread-safe, and reports
    are drawn in worker threads, several at once when runs share a process.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(6, 3))
    axes = figure.subplots()
    iterations = [record["iteration"] for record in history]
    accuracy = [100 * record["validation_accuracy"] for record in history]
    axes.plot(iterations, accuracy, marker="o")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("iteration")
    axes.set_ylabel("validation accuracy (%)")
    axes.grid(alpha=0.3)
    return figure


def _plot(history: list[dict[str, Any]]) -> str:
    """Validation accuracy per iteration as an embedded PNG (matplotlib, no display needed)."""
    figure = accuracy_figure(history)
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)  # Agg canvas: no pyplot, nothing to close
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="validation accuracy per iteration" src="data:image/png;base64,{encoded}">'


def _rows(cells: list[list[str]], header: list[str], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for index, row in enumerate(cells):
        css = f' class="{classes[index]}"' if classes else ""
        body.append(f"<tr{css}>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render_report(
    document: dict[str, Any],
    rules: list[Rule],
    metrics: dict[str, Any],
    history: list[dict[str, Any]],
    spend: SpendReport,
) -> str:
    """The whole page as one string."""
    test = _rows(
        [
            ["base prompt", _pct(metrics.get("test_accuracy_base"))],
            ["optimized prompt", _pct(metrics.get("test_accuracy_final"))],
            ["difference", _points(metrics.get("test_difference"))],
        ],
        ["held-out test", "accuracy"],
    )
    ledger = _rows(
        [
            [
                rule.id, rule.status, rule.text, rule.reason,
                "" if rule.validation_delta is None else f"{100 * rule.validation_delta:+.1f}",
                "" if rule.p_value is None else f"{rule.p_value:.3g}",
                ", ".join(rule.fixed), ", ".join(rule.broken),
            ]
            for rule in rules
        ],
        ["id", "status", "rule", "reason", "val Δ (pts)", "p", "fixed", "broke"],
        ["accepted" if r.status == "accepted" else "rejected" for r in rules],
    )  # fmt: skip
    costs = _rows(
        [
            [role, str(s.calls), str(s.cached_calls), str(s.prompt_tokens),
             str(s.completion_tokens), f"{s.wall_seconds:.1f}"]
            for role, s in spend.roles.items()
        ],
        ["role", "calls", "cached", "prompt tokens", "completion tokens", "seconds"],
    )  # fmt: skip
    plot = _plot(history) if history else ""
    interval = metrics.get("test_difference_ci") or (None, None)
    p_value = metrics.get("test_p_two_sided")
    summary = (
        f"<p>Test examples: {metrics.get('test_examples') or 'n/a'}. Difference 95% CI: "
        f"{_points(interval[0], unit='')} to {_points(interval[1])}; exact two-sided "
        f"p = {f'{float(p_value):.3g}' if p_value is not None else 'n/a'}. Stopped: "
        f"{html.escape(str(metrics.get('stop_reason') or ''))}.</p>"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>concept-distill report</title>"
        f"<style>{_STYLE}</style></head><body><h1>Concept Distillation report</h1>"
        f"<h2>Before / after on the held-out test split</h2>{test}{summary}"
        f"<h2>Validation accuracy per iteration</h2>{plot}"
        f"<h2>Optimized prompt</h2><pre>{html.escape(str(document.get('prompt', '')))}</pre>"
        f"<h2>Rule ledger</h2>{ledger}<h2>Spend per role</h2>{costs}</body></html>"
    )
