"""Baselines against the distilled prompt: paired counts, McNemar, Holm's adjustment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from concept_distill.cli import main
from concept_distill.errors import ConfigError
from concept_distill.loop.stats import holm_adjusted
from concept_distill.report.compare import compare_results, read_outcomes


def test_holm_multiplies_by_the_rank_from_the_top_and_stays_monotone() -> None:
    # Sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> 0.06.
    assert holm_adjusted([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm_adjusted([0.6, 0.9]) == [1.0, 1.0]
    assert holm_adjusted([]) == []


def write_results(path: Path, outcomes: dict[str, str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "example_id": example_id,
            "attempt": {"example_id": example_id, "reply": "The answer is 1."},
            "judgement": {"outcome": outcome},
        }
        for example_id, outcome in outcomes.items()
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_each_baseline_is_paired_with_the_reference_on_the_same_examples(tmp_path: Path) -> None:
    ids = [f"q{i}" for i in range(10)]
    # Reference right on q0-q7; baseline a right on q0-q3 and q8 (4 the reference fixed, 1 broke);
    # baseline b right on q0-q6, q9 unjudged.
    reference = {i: "correct" if n < 8 else "wrong" for n, i in enumerate(ids)}
    a = {i: "correct" if n < 4 or n == 8 else "wrong" for n, i in enumerate(ids)}
    b = {i: "correct" if n < 7 else ("unjudged" if n == 9 else "wrong") for n, i in enumerate(ids)}
    rows = compare_results(
        read_outcomes(write_results(tmp_path / "ref.jsonl", reference)),
        {
            "a": read_outcomes(write_results(tmp_path / "a.jsonl", a)),
            "b": read_outcomes(write_results(tmp_path / "b.jsonl", b)),
        },
    )
    first, second = rows
    assert (first.correct, first.comparison.fixed, first.comparison.broken) == (5, 4, 1)
    assert first.comparison.difference == pytest.approx(0.3)
    # Two-sided exact McNemar, 4 vs 1 of 5 discordant: 2 * P(X >= 4) = 2 * 6/32.
    assert first.comparison.p_two_sided == pytest.approx(0.375)
    assert (second.correct, second.unjudged, second.comparison.fixed) == (7, 1, 1)
    assert second.comparison.p_two_sided == pytest.approx(1.0)
    # Holm: 0.375 is the smaller, times 2.
    assert first.p_holm == pytest.approx(0.75) and second.p_holm == pytest.approx(1.0)


def test_results_of_other_examples_are_refused(tmp_path: Path) -> None:
    reference = read_outcomes(write_results(tmp_path / "ref.jsonl", {"q1": "correct"}))
    other = read_outcomes(write_results(tmp_path / "o.jsonl", {"q2": "correct"}))
    with pytest.raises(ConfigError, match="not the reference's examples"):
        compare_results(reference, {"o": other})


def test_the_command_prints_the_table_and_refuses_a_bad_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = {f"q{i}": "correct" if i % 2 else "wrong" for i in range(6)}
    ref = write_results(tmp_path / "distilled" / "results" / "test-final.jsonl", ids)
    base = write_results(tmp_path / "distilled" / "results" / "test-base.jsonl", ids)
    assert main(["compare", str(ref), f"zero-shot={base}"]) == 0
    out = capsys.readouterr().out
    assert "distilled/test-final" in out and "zero-shot" in out and "3/6" in out
    # the same answers: no discordant pair, nothing to size a test by
    assert "zero-shot: 0 right only with distilled/test-final, 0 only with it; no discordant" in out
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"example_id": "q0"}\n')
    assert main(["compare", str(ref), str(broken)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"concept-distill: error: {broken}:1: not a result row"]


def test_json_and_plot_carry_each_comparison_against_the_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Reference right on q0-q5 of 8; "worse" right on q0-q1 only (4 fixed, 0 broken: +50
    # points); "same" gives the reference's answers (no discordant pair).
    ids = [f"q{i}" for i in range(8)]
    ref = write_results(
        tmp_path / "ref.jsonl", {i: "correct" if n < 6 else "wrong" for n, i in enumerate(ids)}
    )
    worse = write_results(
        tmp_path / "worse.jsonl", {i: "correct" if n < 2 else "wrong" for n, i in enumerate(ids)}
    )
    json_file, png_file = tmp_path / "out" / "cmp.json", tmp_path / "cmp.png"
    (tmp_path / "out").mkdir()
    args = ["compare", f"mine={ref}", f"worse={worse}", f"same={ref}"]
    assert main([*args, "--json", str(json_file), "--plot", str(png_file)]) == 0
    capsys.readouterr()
    document = json.loads(json_file.read_text())
    assert (document["reference"], document["correct"], document["examples"]) == ("mine", 6, 8)
    worse_row, same_row = document["rows"]
    assert worse_row["name"] == "worse" and worse_row["comparison"]["difference"] == pytest.approx(
        0.5
    )
    # Exact McNemar, 4 vs 0 of 4 discordant: 2 * 1/16; Holm doubles the smaller of the two.
    assert worse_row["comparison"]["p_two_sided"] == pytest.approx(0.125)
    assert worse_row["p_holm"] == pytest.approx(0.25)
    assert same_row["detectable"] is None and worse_row["detectable"] is not None
    assert png_file.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    # Unwritable output: one line, exit 2.
    assert main([*args, "--json", str(tmp_path / "missing" / "cmp.json")]) == 2
    assert capsys.readouterr().err.strip().startswith("concept-distill: error: cannot write ")


def test_the_figure_puts_each_difference_on_its_row_from_the_top(tmp_path: Path) -> None:
    from concept_distill.report.compare import Comparison, comparison_figure

    ids = [f"q{i}" for i in range(8)]
    ref = read_outcomes(
        write_results(
            tmp_path / "r.jsonl", {i: "correct" if n < 6 else "wrong" for n, i in enumerate(ids)}
        )
    )
    worse = read_outcomes(
        write_results(
            tmp_path / "w.jsonl", {i: "correct" if n < 2 else "wrong" for n, i in enumerate(ids)}
        )
    )
    rows = compare_results(ref, {"worse": worse, "same": ref})
    figure = comparison_figure(Comparison(reference="mine", examples=8, correct=6, rows=rows))
    (axes,) = figure.axes
    labels = [label.get_text() for label in axes.get_yticklabels()]
    # y positions count up from the bottom, so the first row is drawn highest
    by_position = dict(zip(axes.get_yticks(), labels, strict=True))
    assert [by_position[p] for p in sorted(by_position, reverse=True)] == [
        "worse (2/8)",
        "same (6/8)",
    ]
    points = sorted(
        (line.get_ydata()[0], line.get_xdata()[0])
        for line in axes.lines
        if line.get_marker() == "o"  # the estimate; caps and the zero line are drawn otherwise
    )
    assert points == [(0, 0.0), (1, pytest.approx(50.0))]
