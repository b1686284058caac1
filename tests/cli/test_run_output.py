"""What `run` prints at the end: the table apart from the live view, lines that do not wrap."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from concept_distill.cli.run import _interval, _print_result
from concept_distill.distillation import DistillResult
from concept_distill.records import RunMetrics


def test_interval_rounds_a_float_error_to_zero_and_never_prints_minus_zero() -> None:
    assert _interval((2.78e-17, 1.0), "{:+.1f} to {:+.1f}") == "+0.0 to +100.0"
    assert _interval((-1e-12, 0.25), "{:.1f}-{:.1f}%") == "0.0-25.0%"
    assert _interval(None, "{:.1f}-{:.1f}%") == "n/a"


def test_result_starts_on_its_own_line_and_long_lines_stay_whole(tmp_path: Path) -> None:
    run_dir = tmp_path / ("a-long-directory-name-" * 4) / "run"
    metrics = RunMetrics(
        test_accuracy_base=0.5,
        test_accuracy_final=0.75,
        test_ci_base=(0.3, 0.7),
        test_ci_final=(0.55, 0.9),
        test_examples=12,
        test_difference=0.25,
        test_difference_ci=(0.05, 0.45),
        test_p_two_sided=0.0625,
        stop_reason="no rule accepted in 1 round(s) in a row",
    )
    result = DistillResult(optimized_prompt="p", rules=[], metrics=metrics, run_dir=run_dir)
    out = io.StringIO()
    _print_result(Console(file=out, width=60), result)
    lines = out.getvalue().splitlines()
    assert lines[0] == "" and "held-out test split" in lines[1]
    assert any("50.0%" in line and "30.0-70.0%" in line for line in lines)
    assert f"report: {run_dir / 'report.html'}" in lines
    (difference,) = [line for line in lines if line.startswith("difference")]
    assert difference.endswith("stopped: no rule accepted in 1 round(s) in a row")
    assert "+25.0 points (95% CI +5.0 to +45.0, p=0.0625) on 12 examples" in difference
