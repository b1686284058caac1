from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from support.fakes import HELPFUL, make_config, verifier
from support.roles import proposing_teacher, student_model

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "embed_subgraph.py"


def load_example() -> object:
    spec = importlib.util.spec_from_file_location("embed_subgraph", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["embed_subgraph"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.anyio
async def test_parent_graph_reads_the_distilled_prompt_and_rules_once(tmp_path: Path) -> None:
    example = load_example()
    config = make_config(tmp_path)
    app = example.build_app(  # type: ignore[attr-defined]
        config, student=student_model(), teacher=proposing_teacher(), verifier=verifier()
    )
    final = await app.ainvoke({})
    assert HELPFUL in final["optimized_prompt"]
    assert (Path(final["run_dir"]) / "report.html").is_file()
    ids = [rule["id"] for rule in final["rules"]]
    assert len(ids) == len(set(ids)), "a subgraph must not duplicate rules in the parent"
    assert final["deployed"].startswith("1 rule(s): ")
    assert final["metrics"]["test_accuracy_final"] == 1.0
    # The same parent app runs again: the subgraph opened and closed its resources itself.
    again = await app.ainvoke({})
    assert again["run_dir"] != final["run_dir"] and HELPFUL in again["optimized_prompt"]
