"""The `concept-distill sandbox` command, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "concept_distill.cli", "sandbox"]
GOOD = {
    "id": "double",
    "code": "def double(x):\n    return 2 * x\n",
    "test": "def check(candidate):\n    assert candidate(3) == 6\n",
    "entry_point": "double",
}
WRONG_MBPP = {
    "id": 7,
    "code": "def square(x):\n    return x + x\n",
    "test": "assert square(3) == 9\n",
}
LEAKY = {
    "id": "leak",
    "code": "import os\nprint(dict(os.environ))\ndef f():\n    return os.environ['OPENAI_API_KEY']\n",
    "test": "assert f() == 'x'\n",
}


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=300, env=env or dict(os.environ)
    )


def write_lines(path: Path, *records: object) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def test_judges_every_line_in_order_and_exits_zero(tmp_path: Path) -> None:
    secret = "sk-test-cli-9f8e7d6c5b4a"
    env = {**os.environ, "OPENAI_API_KEY": secret}
    jobs = write_lines(tmp_path / "jobs.jsonl", GOOD, WRONG_MBPP, LEAKY)
    done = run_cli(str(jobs), "--timeout", "5", "--jobs", "2", env=env)
    assert done.returncode == 0, done.stderr
    verdicts = [json.loads(line) for line in done.stdout.splitlines()]
    assert [v["id"] for v in verdicts] == ["double", 7, "leak"]
    assert [v["status"] for v in verdicts] == ["passed", "failed", "error"]
    assert set(verdicts[0]) == {"id", "status", "duration_s", "detail"}
    assert "square(3) returned 6" in verdicts[1]["detail"]
    assert "KeyError" in verdicts[2]["detail"]
    assert secret not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": 1, "code": "x = 1"}\n', "line 1: test: missing field"),
        (json.dumps(GOOD) + '\n{"id": 2, "code": \n', "line 2: bad JSON"),
        ("[1, 2]\n", "line 1: expected a JSON object"),
        ("\n\n", "no jobs"),
    ],
)
def test_unreadable_input_is_one_line_and_exit_2(
    tmp_path: Path, content: str, message: str
) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(content)
    done = run_cli(str(jobs))
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_option_is_one_line_and_exit_2(tmp_path: Path) -> None:
    jobs = write_lines(tmp_path / "jobs.jsonl", GOOD)
    done = run_cli(str(jobs), "--timeout", "-3")
    assert done.returncode == 2
    assert "timeout_s" in done.stderr and "Traceback" not in done.stderr


def test_doctor_lists_every_layer_as_active_here() -> None:
    done = run_cli("--doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    for layer in ("bubblewrap", "unprivileged uid", "namespaces", "private mounts", "seccomp"):
        assert layer in done.stdout
    assert "all required layers active" in done.stdout
    assert "MISSING" not in done.stdout


def test_weak_isolation_is_refused_unless_allowed(tmp_path: Path) -> None:
    """Without bwrap and setpriv on PATH, required layers are missing: refuse, or run and say so."""
    bare_path = tmp_path / "bin"
    bare_path.mkdir()
    env = {**os.environ, "PATH": str(bare_path)}
    jobs = write_lines(tmp_path / "jobs.jsonl", GOOD)
    refused = run_cli(str(jobs), env=env)
    assert refused.returncode == 1
    assert "refusing to run with weak isolation" in refused.stderr
    assert "bubblewrap" in refused.stderr
    assert refused.stdout == ""
    allowed = run_cli(str(jobs), "--allow-weak-isolation", env=env)
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["status"] == "passed"
    assert "WEAK, missing bubblewrap" in allowed.stderr
    doctor = run_cli("--doctor", env=env)
    assert doctor.returncode == 1
    assert "MISSING" in doctor.stdout
