from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from support.fakes import HELPFUL, make_config, rule_following_student, scripted_teacher, verifier

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
    student, _ = rule_following_student(config)
    teacher, _ = scripted_teacher()
    app = example.build_app(  # type: ignore[attr-defined]
        config, student=student, teacher=teacher, verifier=verifier(), run_dir=tmp_path / "run"
    )
    final = await app.ainvoke({})
    assert HELPFUL in final["optimized_prompt"]
    ids = [rule.id for rule in final["rules"]]
    assert len(ids) == len(set(ids)), "a subgraph must not duplicate rules in the parent"
    assert final["deployed"].startswith("1 rule(s): ")
    assert final["metrics"]["test_accuracy_final"] == 1.0
