"""A `module:function` scorer next to the config imports without PYTHONPATH."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from support.configs import CLI, fake_role, write_config


def test_a_scorer_beside_the_config_is_found(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "toy_scorer_beside.py").write_text(
        "def score(example, reply):\n    return reply.strip() == example.answer, 'compared'\n"
    )
    rows = [{"input": f"{n} + 1?", "answer": str(n + 1)} for n in range(12)]
    (project / "data.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    config = write_config(
        project,
        splits={"seed": 1, "train": 4, "validation": 4, "test": 4},
        models={
            "student": fake_role("http://127.0.0.1:9/v1", "s"),
            "teacher": fake_role("http://127.0.0.1:9/v1", "t"),
        },
    )
    config.write_text(
        config.read_text().replace(
            "task:\n  name: multiarith\n",
            f"task:\n  name: jsonl\n  path: {project / 'data.jsonl'}\n"
            "  scorer: toy_scorer_beside:score\n",
        )
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(
        [*CLI, "run", str(config), "--dry-run"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "dry run: jsonl" in done.stdout


def test_a_missing_scorer_module_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "data.jsonl").write_text('{"input": "x", "answer": "y"}\n')
    config = write_config(
        tmp_path,
        models={
            "student": fake_role("http://127.0.0.1:9/v1", "s"),
            "teacher": fake_role("http://127.0.0.1:9/v1", "t"),
        },
    )
    config.write_text(
        config.read_text().replace(
            "task:\n  name: multiarith\n",
            f"task:\n  name: jsonl\n  path: {tmp_path / 'data.jsonl'}\n  scorer: nowhere_xyz:f\n",
        )
    )
    done = subprocess.run([*CLI, "run", str(config), "--dry-run"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "nowhere_xyz" in done.stderr
