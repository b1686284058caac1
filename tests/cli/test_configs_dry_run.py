"""Every shipped config plans a run from a copy with nothing beside it (no data directory)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from concept_distill.cli import main

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / "configs").rglob("*.yaml"))
"""Every shipped config, the study's under `configs/study/` included."""
SHIPPED_TASKS = ("humaneval", "multiarith", "svamp", "gsm8k")


@pytest.fixture
def alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`configs/` copied to an empty directory, which becomes the working directory."""
    root = tmp_path / "clone"
    shutil.copytree(REPO / "configs", root / "configs")
    monkeypatch.chdir(root)
    return root


def test_the_configs_directory_is_not_empty() -> None:
    assert REPO / "configs" / "demo.yaml" in CONFIGS
    assert REPO / "configs" / "study" / "gsm8k-qwen0.5b.yaml" in CONFIGS


@pytest.mark.parametrize("task", SHIPPED_TASKS)
def test_demo_plans_every_shipped_task(
    task: str, alone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["run", "configs/demo.yaml", "--dry-run", "--set", f"task.name={task}"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert f"dry run: {task}" in captured.out and "calls at most" in captured.out


def _shipped(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


@pytest.mark.parametrize("config", CONFIGS, ids=_shipped)
def test_every_config_plans(config: Path, alone: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["run", _shipped(config), "--dry-run"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "calls at most" in captured.out


def test_a_missing_data_file_is_one_line_naming_task_path(
    alone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["run", "configs/demo.yaml", "--dry-run", "--set", "task.path=elsewhere/gsm8k.jsonl"]
    )
    error = capsys.readouterr().err
    assert status == 2
    assert error.count("\n") == 1 and "elsewhere/gsm8k.jsonl" in error and "task.path" in error
