"""Add the tips baseline to `docs/study/test-comparison.json` and re-adjust every row by Holm.

Why this exists: the other baselines' per-example test results were lost with the machine's
cache (their summaries and paired figures are published), so `concept-distill compare` cannot be
re-run over all six files. The tips row is compared, paired, with a fresh test pass of the base
prompt (= the distilled prompt: no rule was accepted), by the same code as `compare`; then the
Holm adjustment, which needs only the p-values, is recomputed over all five baselines, and the
table and figure are rewritten.

    python docs/study/baseline-tips/add_to_comparison.py BASE_TEST.jsonl TIPS_TEST.jsonl
"""

import sys
from pathlib import Path

from concept_distill.loop.stats import holm_adjusted
from concept_distill.report.compare import (
    Comparison,
    compare_results,
    comparison_figure,
    read_outcomes,
)

STUDY = Path(__file__).parents[1]
TABLE = STUDY / "test-comparison.json"
FIGURE = STUDY / "test-comparison.png"


def main(base_results: Path, tips_results: Path) -> None:
    """Compare tips with the base pass, then write the table with Holm over all rows."""
    published = Comparison.model_validate_json(TABLE.read_text())
    reference = read_outcomes(base_results)
    correct = sum(right for right, _ in reference.values())
    if correct != published.correct or len(reference) != published.examples:
        print(
            f"note: the base pass scored {correct}/{len(reference)}, "
            f"the published reference {published.correct}/{published.examples}"
        )
    rows = [row for row in published.rows if not row.name.startswith("tips")]
    name = (
        "tips" if correct == published.correct else f"tips (ref. re-run {correct}/{len(reference)})"
    )
    rows += compare_results(reference, {name: read_outcomes(tips_results)})
    adjusted = holm_adjusted([row.comparison.p_two_sided for row in rows])
    rows = [row.model_copy(update={"p_holm": p}) for row, p in zip(rows, adjusted, strict=True)]
    table = published.model_copy(update={"rows": rows})
    TABLE.write_text(table.model_dump_json(indent=2) + "\n")
    comparison_figure(table).savefig(FIGURE, format="png", dpi=100)
    for row in rows:
        c = row.comparison
        print(
            f"{row.name}: {row.correct}/{row.examples}, distilled minus it "
            f"{100 * c.difference:+.1f} ({100 * c.ci_low:+.1f} to {100 * c.ci_high:+.1f}), "
            f"p {c.p_two_sided:.3g}, Holm {row.p_holm:.3g}, fixed {c.fixed} broken {c.broken}, "
            f"detects {row.detectable}"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
