"""A fake API key set in the environment appears in nothing a real run writes or prints.

Each test runs the real CLI in a subprocess against fake servers that demand the key (a request
without `Authorization: Bearer <key>` gets 401, so a finished run proves the key was sent), then
scans every file under the test's directory (the run directory with the checkpoint database's
bytes, calls.jsonl, run.log, results, report.html; the response cache) and the process's stdout
and stderr. The search is for the key's random part, so a key cut short still counts as a leak.
"""

from __future__ import annotations

import json
import os
import secrets
import textwrap
from pathlib import Path

import anyio
import pytest
import yaml
from support.configs import CLI, fake_role, write_config
from support.fakes import student_http_reply, teacher_http_reply

from concept_distill.testing import Fail, FakeOpenAIServer, RecordedRequest

pytestmark = pytest.mark.anyio
KEY_ENV = "CD_TEST_KEY"
UNIQUE = secrets.token_hex(16)
KEY = f"sk-test-{UNIQUE}"
WRITTEN = ("checkpoints.sqlite", "calls.jsonl", "run.log", "config.yaml", "splits.json")
FINISHED = ("report.html", "metrics.json", "rules.jsonl", "spend.json", "optimized_prompt.json")


@pytest.fixture(autouse=True)
def key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI subprocesses inherit it, as from a user's shell."""
    monkeypatch.setenv(KEY_ENV, KEY)


def keyed_role(server: FakeOpenAIServer, model: str) -> dict[str, object]:
    return fake_role(server.base_url, model, api_key_env=KEY_ENV)


def config_for(tmp_path: Path, student: FakeOpenAIServer, teacher: FakeOpenAIServer) -> Path:
    return write_config(
        tmp_path,
        splits={"seed": 5, "train": 6, "validation": 8, "test": 6},
        models={"student": keyed_role(student, "s"), "teacher": keyed_role(teacher, "t")},
        loop={"max_iterations": 1},
        run_dir=str(tmp_path / "runs"),
        cache_path=str(tmp_path / "cache" / "responses.sqlite"),
    )


async def run_cli(*args: str) -> tuple[int, str]:
    """Exit code and stdout+stderr of `concept-distill ARGS`."""
    done = await anyio.run_process([*CLI, *args], check=False)
    return done.returncode, done.stdout.decode() + done.stderr.decode()


def files_holding(root: Path, needle: str) -> list[str]:
    """Every file under `root` (hidden ones too) whose bytes contain `needle`."""
    found = []
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory, name)
            if needle.encode() in path.read_bytes():
                found.append(str(path.relative_to(root)))
    return found


def assert_key_was_sent(*servers: FakeOpenAIServer) -> None:
    """Each server got requests, every one carrying the key: it was in use, so its absence counts."""
    for server in servers:
        assert server.requests
        assert all(r.headers["Authorization"] == f"Bearer {KEY}" for r in server.requests)


async def test_a_finished_run_writes_and_prints_the_key_nowhere(tmp_path: Path) -> None:
    async with (
        FakeOpenAIServer(reply=student_http_reply, api_key=KEY) as student,
        FakeOpenAIServer(reply=teacher_http_reply(), api_key=KEY) as teacher,
    ):
        config = config_for(tmp_path, student, teacher)
        run_dir = tmp_path / "runs" / "run"
        code, output = await run_cli("run", str(config), "--run-dir", str(run_dir))
    assert code == 0, output
    assert_key_was_sent(student, teacher)
    for name in (*WRITTEN, *FINISHED):
        assert (run_dir / name).is_file(), name
    assert list((run_dir / "results").iterdir())
    assert (tmp_path / "cache" / "responses.sqlite").is_file()
    assert KEY_ENV in (tmp_path / "config.yaml").read_text()  # the key's name, not the key
    assert files_holding(tmp_path, UNIQUE) == []
    assert UNIQUE not in output


async def test_a_failed_run_writes_and_prints_the_key_nowhere(tmp_path: Path) -> None:
    """The teacher's endpoint fails, echoing the key in its error (as some proxies do)."""
    echo = Fail(500, message=f"upstream rejected the credentials {KEY}")

    def failing(request: RecordedRequest) -> Fail:
        return echo

    async with (
        FakeOpenAIServer(reply=student_http_reply, api_key=KEY) as student,
        FakeOpenAIServer(reply=failing, api_key=KEY) as teacher,
    ):
        config = config_for(tmp_path, student, teacher)
        run_dir = tmp_path / "runs" / "run"
        code, output = await run_cli("run", str(config), "--run-dir", str(run_dir))
    assert code == 1, output
    assert "teacher" in output  # the failure is reported (naming the role), just not the key
    assert_key_was_sent(student, teacher)
    for name in WRITTEN:
        assert (run_dir / name).is_file(), name
    assert files_holding(tmp_path, UNIQUE) == []
    assert UNIQUE not in output


# --- a code task: the sandboxed program cannot see the key --------------------------------------

PROBLEMS = 6
MARKER = "ENVIRON-SEEN-BY-THE-PROGRAM"


def code_problems(path: Path) -> Path:
    """HumanEval-format problems `add_k(x) -> x + k`."""
    rows = [
        {
            "task_id": f"Tiny/{k}",
            "prompt": f'def add_{k}(x: int) -> int:\n    """Return x plus {k}."""\n',
            "canonical_solution": f"    return x + {k}\n",
            "test": f"def check(candidate):\n    assert candidate(1) == {k + 1}\n",
            "entry_point": f"add_{k}",
        }
        for k in range(PROBLEMS)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def environment_dumper(request: RecordedRequest) -> str:
    """A student whose function raises with everything it can find of its environment."""
    question = json.loads(request.body)["messages"][-1]["content"]
    name = question.split("def ", 1)[1].split("(", 1)[0]
    program = textwrap.dedent(
        f"""
        import os

        found = [repr(dict(os.environ))]
        for path in ("/proc/self/environ", "/proc/1/environ"):
            try:
                found.append(open(path, "rb").read().decode("latin-1"))
            except OSError as error:
                found.append(f"{{path}}: {{error.strerror}}")

        def {name}(x: int) -> int:
            raise ValueError("{MARKER} " + " | ".join(found))
        """
    )
    return f"```python\n{program}```"


def free_uid_base() -> int:
    """A sandbox uid range no other test run on this machine is using now."""
    from sandbox.sandbox_support import free_uid_base as free

    return free()


async def test_the_sandboxed_program_of_a_code_task_does_not_see_the_key(tmp_path: Path) -> None:
    data = code_problems(tmp_path / "tiny.jsonl")
    async with (
        FakeOpenAIServer(reply=environment_dumper, api_key=KEY) as student,
        FakeOpenAIServer(reply=teacher_http_reply(), api_key=KEY) as teacher,
    ):
        config = tmp_path / "config.yaml"
        settings = {
            "task": {"name": "humaneval", "path": str(data)},
            "splits": {"seed": 5, "train": 2, "validation": 2, "test": 2},
            "models": {"student": keyed_role(student, "s"), "teacher": keyed_role(teacher, "t")},
            "loop": {"max_iterations": 1},
            "sandbox": {"uid_base": free_uid_base(), "timeout_s": 20.0},
            "run_dir": str(tmp_path / "runs"),
            "cache_path": str(tmp_path / "cache" / "responses.sqlite"),
        }
        config.write_text(yaml.safe_dump(settings))
        run_dir = tmp_path / "runs" / "run"
        code, output = await run_cli("run", str(config), "--run-dir", str(run_dir))
    assert code == 0, output
    assert_key_was_sent(student, teacher)
    # The programs' dumps of their environment reached the results (so the scan can see them).
    assert any(name.startswith("results") for name in files_holding(run_dir, MARKER))
    assert files_holding(tmp_path, UNIQUE) == []
    assert UNIQUE not in output
