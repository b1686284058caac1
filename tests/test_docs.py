"""The reference docs are generated from the code and kept up to date."""

from __future__ import annotations

from pathlib import Path

import pytest

from concept_distill.config import Config
from concept_distill.docs import config_reference, generated, main


def test_generated_docs_are_up_to_date() -> None:
    for path, text in generated().items():
        assert path.exists(), f"{path} is missing: run python -m concept_distill.docs"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} is out of date: run python -m concept_distill.docs"
        )


def test_check_mode_reports_a_stale_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import concept_distill.docs as docs

    monkeypatch.setattr(docs, "DOCS", tmp_path)
    assert main(["--check"]) == 1  # nothing written there yet
    assert main([]) == 0 and main(["--check"]) == 0


def test_every_field_of_every_section_is_listed() -> None:
    text = config_reference()
    for name in Config.model_fields:
        assert f"| `{name}` |" in text, name
    task = text.split("## `task`: TaskConfig", 1)[1].split("\n## ", 1)[0]
    for row in ("| `path` | path \\| null | `null` |", "| `name` | 'humaneval' \\| 'multiarith'"):
        assert row in task, row
    assert "## `models.student`, `models.teacher`: ModelConfig" in text
