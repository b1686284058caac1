"""Every bad input is refused in one line, with exit 2, before any model call.

Each case runs the real CLI entry point (`concept_distill.cli.main`) in this process against a
counting fake endpoint, and asserts the exit code, a single stderr line without a traceback, the
culprit (field, file, line or id) named in it, and that not one request reached the endpoint.
"""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from anyio.from_thread import BlockingPortal, start_blocking_portal

from concept_distill.cli import main
from concept_distill.testing import Fail, FakeOpenAIServer

QUESTIONS = [(f"q{i}", f"What is {i} plus 1?", str(i + 1)) for i in range(12)]
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"


@pytest.fixture(scope="module")
def portal() -> Iterator[BlockingPortal]:
    """An event loop in a thread for the fake servers (the CLI runs its own loop)."""
    with start_blocking_portal() as running:
        yield running


@pytest.fixture(scope="module")
def endpoint(portal: BlockingPortal) -> Iterator[FakeOpenAIServer]:
    """One counting fake endpoint for the module."""
    server = FakeOpenAIServer()
    portal.call(server.start)
    try:
        yield server
    finally:
        portal.call(server.aclose)


@dataclass
class Env:
    """A scratch directory with a valid data file, and helpers to write (broken) inputs."""

    tmp: Path
    url: str

    def __post_init__(self) -> None:
        self.data = self.tmp / "data.jsonl"
        self.data.write_text(
            "".join(json.dumps({"id": i, "input": q, "answer": a}) + "\n" for i, q, a in QUESTIONS)
        )

    def base(self) -> dict[str, Any]:
        return {
            "task": {
                "name": "jsonl",
                "path": str(self.data),
                "scorer": "exact",
                "fields": {"id": "id"},
            },
            "splits": {"seed": 0, "train": 4, "validation": 4, "test": 4},
            "models": {
                "student": {"base_url": self.url, "model": "s", "max_retries": 0},
                "teacher": {"base_url": self.url, "model": "t", "max_retries": 0},
            },
            "run_dir": str(self.tmp / "runs"),
            "cache_path": str(self.tmp / "cache.sqlite"),
        }

    def config(self, **changes: Any) -> str:
        """The base config with `a__b__c=value` changes (None deletes), written to a file."""
        data = self.base()
        for dotted, value in changes.items():
            *parents, leaf = dotted.split("__")
            node = data
            for part in parents:
                node = node.setdefault(part, {})
            if value is None:
                node.pop(leaf, None)
            else:
                node[leaf] = value
        return self.text("config.yaml", yaml.safe_dump(data, sort_keys=False))

    def text(self, name: str, content: str | bytes) -> str:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return str(path)

    def base_yaml(self) -> str:
        return yaml.safe_dump(self.base(), sort_keys=False)

    def data_file(self, rows: list[dict[str, Any]]) -> str:
        return self.text("rows.jsonl", "".join(json.dumps(row) + "\n" for row in rows))

    def scorer(self, module: str, source: str) -> str:
        """A scorer module beside the config (on the CLI's scorer search path)."""
        self.text(f"{module}.py", source)
        return self.config(task__scorer=f"{module}:score")

    def run_dir(self, **files: str | bytes) -> str:
        """A run directory holding valid-looking run files, with `files` replacing some."""
        directory = self.tmp / "run"
        defaults: dict[str, str | bytes] = {
            "optimized_prompt.json": json.dumps({"prompt": "Be careful.", "rules": []}),
            "rules.jsonl": "",
            "metrics.json": json.dumps({"test_accuracy_base": 0.5}),
            "history.json": "[]",
            "spend.json": json.dumps({"roles": {}}),
        }
        for name, content in (
            defaults | {k.replace("__", "."): v for k, v in files.items()}
        ).items():
            self.text(f"run/{name}", content)
        return str(directory)

    def jobs(self, content: str | bytes) -> str:
        return self.text("jobs.jsonl", content)


@dataclass(frozen=True)
class Case:
    name: str
    argv: Callable[[Env], list[str]]
    culprit: str | Callable[[Env], str]
    code: int = 2


def other_database(path: Path) -> str:
    """A SQLite database that is not a response cache (it must never be deleted)."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE IF NOT EXISTS notes (text TEXT)")
    return str(path)


def _run(**changes: Any) -> Callable[[Env], list[str]]:
    return lambda env: ["run", env.config(**changes)]


def _run_raw(content: str | bytes) -> Callable[[Env], list[str]]:
    return lambda env: ["run", env.text("config.yaml", content)]


CASES = [
    # --- run: the config file itself
    Case("config missing", lambda e: ["run", str(e.tmp / "nope.yaml")], "nope.yaml"),
    Case("config is a directory", lambda e: ["run", str(e.tmp)], "directory"),
    Case("config is binary", _run_raw(PNG), "not a UTF-8 text file"),
    Case("config has NUL bytes", _run_raw("task:\x00 x\n"), "unacceptable character"),
    Case("YAML syntax error", _run_raw("task: [jsonl\nmodels: {}\n"), "line 2, column"),
    Case("YAML bad indentation", _run_raw("task:\n  name: x\n - y\n"), "line 3, column 2"),
    Case(
        "duplicate top-level key",
        lambda e: ["run", e.text("config.yaml", e.base_yaml() + "run_dir: other\n")],
        "duplicate key 'run_dir'",
    ),
    Case(
        "duplicate nested key",
        lambda e: [
            "run",
            e.text(
                "config.yaml", e.base_yaml().replace("  student:\n", "  student:\n    model: x\n")
            ),
        ],
        "duplicate key 'model'",
    ),
    Case("top level is a list", _run_raw("- task\n- models\n"), "mapping at the top level"),
    Case("empty config", _run_raw(""), "task: missing field"),
    Case("unknown section", _run(budgets={"wall_s": 10}), "budgets"),
    Case("task missing", _run(task=None), "task: missing field"),
    Case("unknown task name", _run(task__name="mmlu"), "task.name"),
    # --- run: model endpoints
    Case("base_url empty", _run(models__student__base_url=""), "base_url"),
    Case(
        "base_url without scheme", _run(models__student__base_url="localhost:8080/v1"), "base_url"
    ),
    Case("base_url ftp", _run(models__teacher__base_url="ftp://example.org/v1"), "base_url"),
    Case("base_url without host", _run(models__student__base_url="http:///v1"), "base_url"),
    Case("base_url bad port", _run(models__student__base_url="http://h:99999/v1"), "base_url"),
    Case("temperature out of range", _run(models__student__temperature=7), "temperature"),
    Case("max_tokens negative", _run(models__student__max_tokens=-5), "max_tokens"),
    Case("model missing", _run(models__student__model=None), "model"),
    Case(
        "API key variable unset",
        _run(models__student__api_key_env="CONCEPT_DISTILL_TEST_UNSET_KEY"),
        "CONCEPT_DISTILL_TEST_UNSET_KEY",
    ),
    # --- run: numbers
    Case("splits.train infinite", _run(splits__train=float("inf")), "splits.train"),
    Case("splits.test NaN", _run(splits__test=float("nan")), "splits.test"),
    Case("splits larger than the data", _run(splits__train=100), "splits need"),
    Case("concurrency zero", _run(concurrency=0), "concurrency"),
    Case("loop.max_iterations zero", _run(loop__max_iterations=0), "loop.max_iterations"),
    Case("failures share above 1", _run(failures__max_unjudged_share=2), "max_unjudged_share"),
    # --- run: data and scorers
    Case(
        "data file missing", _run(task__path="/nonexistent/data.jsonl"), "/nonexistent/data.jsonl"
    ),
    Case(
        "data file bad JSON line",
        lambda e: [
            "run",
            e.config(
                task__path=e.text("rows.jsonl", '{"id": 1, "input": "a", "answer": "1"}\n{oops\n')
            ),
        ],
        "line 2",
    ),
    Case(
        "duplicate example id",
        lambda e: [
            "run",
            e.config(
                task__path=e.data_file(
                    [
                        {"id": "dup", "input": "a", "answer": "1"},
                        {"id": "b", "input": "b", "answer": "2"},
                        {"id": "dup", "input": "c", "answer": "3"},
                    ]
                )
            ),
        ],
        "duplicate id 'dup' on lines 1 and 3",
    ),
    Case(
        "data line without the answer",
        lambda e: ["run", e.config(task__path=e.data_file([{"id": "a", "input": "x"}]))],
        "line 1: missing field: answer",
    ),
    Case("unknown scorer name", _run(task__scorer="fuzzy"), "fuzzy"),
    Case(
        "scorer module not found",
        _run(task__scorer="no_such_module_xyz:score"),
        "no_such_module_xyz",
    ),
    Case(
        "scorer module empty", lambda e: ["run", e.scorer("bi_empty_scorer", "")], "bi_empty_scorer"
    ),
    Case(
        "scorer module with a syntax error",
        lambda e: ["run", e.scorer("bi_syntax_scorer", "def score(:\n")],
        "bi_syntax_scorer",
    ),
    Case(
        "scorer module raising on import",
        lambda e: ["run", e.scorer("bi_raising_scorer", "raise RuntimeError('no GPU here')\n")],
        "bi_raising_scorer",
    ),
    Case(
        "scorer not callable",
        lambda e: ["run", e.scorer("bi_constant_scorer", "score = 3\n")],
        "bi_constant_scorer:score",
    ),
    # --- run: cache and command line
    Case(
        "cache_path is a directory",
        lambda e: ["run", e.config(cache_path=str(e.tmp))],
        "is a directory",
    ),
    Case(
        "cache_path is not SQLite",
        lambda e: ["run", e.config(cache_path=e.text("cache.sqlite", "just text\n"))],
        "cache.sqlite",
    ),
    Case("--set without =", lambda e: ["run", e.config(), "--set", "concurrency"], "--set"),
    Case(
        "--set bad YAML value",
        lambda e: ["run", e.config(), "--set", "concurrency=[1"],
        "--set concurrency",
    ),
    Case(
        "--set into a value",
        lambda e: ["run", e.config(), "--set", "concurrency.x=1"],
        "concurrency",
    ),
    Case(
        "--set invalid value",
        lambda e: ["run", e.config(), "--set", "splits.seed=abc"],
        "splits.seed",
    ),
    Case(
        "--resume on a directory without a run",
        lambda e: ["run", "--resume", str(e.tmp)],
        "not a run directory",
    ),
    Case("neither config nor --resume", lambda e: ["run"], "give a CONFIG"),
    Case(
        "--run-dir is a file",
        lambda e: ["run", e.config(), "--run-dir", e.text("taken", "x")],
        "taken",
    ),
    # --- eval
    Case(
        "eval --prompt not UTF-8",
        lambda e: ["eval", e.config(), "--prompt", e.text("prompt.txt", b"\xff\xfe\x00bad")],
        "prompt.txt",
    ),
    Case(
        "eval --prompt missing",
        lambda e: ["eval", e.config(), "--prompt", str(e.tmp / "p.txt")],
        "p.txt",
    ),
    Case(
        "eval --prompt JSON without a prompt",
        lambda e: ["eval", e.config(), "--prompt", e.text("p.json", '{"rules": []}')],
        "p.json",
    ),
    Case("eval unknown split", lambda e: ["eval", e.config(), "--split", "devel"], "--split"),
    Case(
        "eval dev split of size 0", lambda e: ["eval", e.config(), "--split", "dev"], "splits.dev"
    ),
    Case(
        "eval config with duplicate key",
        lambda e: ["eval", e.text("c.yaml", "a: 1\na: 2\n")],
        "duplicate key 'a'",
    ),
    Case(
        "eval base_url ftp",
        lambda e: ["eval", e.config(models__student__base_url="ftp://x/v1")],
        "base_url",
    ),
    # --- report
    Case("report on a file", lambda e: ["report", e.text("file.txt", "x")], "file.txt"),
    Case("report on a missing directory", lambda e: ["report", str(e.tmp / "gone")], "gone"),
    Case("report on an empty directory", lambda e: ["report", str(e.tmp)], "optimized_prompt.json"),
    Case(
        "report metrics is a list",
        lambda e: ["report", e.run_dir(metrics__json="[1, 2]")],
        "metrics.json",
    ),
    Case(
        "report history bad JSON",
        lambda e: ["report", e.run_dir(history__json="[{")],
        "history.json",
    ),
    Case(
        "report history of numbers",
        lambda e: ["report", e.run_dir(history__json="[1, 2]")],
        "history.json",
    ),
    Case(
        "report rules wrong shape",
        lambda e: ["report", e.run_dir(rules__jsonl='{"x": 1}\n')],
        "rules.jsonl line 1",
    ),
    Case(
        "report spend wrong shape",
        lambda e: ["report", e.run_dir(spend__json='{"roles": 3}')],
        "spend.json",
    ),
    Case(
        "report prompt not UTF-8",
        lambda e: ["report", e.run_dir(optimized_prompt__json=b'{"prompt": "\xff"}')],
        "optimized_prompt.json",
    ),
    # --- cache (a cache file of the wrong kind: tests/models/test_cache_files.py until the
    # CLI's `cache` commands call `cache_stats`/`clear_cache`)
    Case(
        "cache info: bad config",
        lambda e: ["cache", "info", e.text("c.yaml", "models: [\n")],
        "c.yaml",
    ),
    Case(
        "cache clear: binary config", lambda e: ["cache", "clear", e.text("c.yaml", PNG)], "c.yaml"
    ),
    Case(
        "cache info: base_url ftp",
        lambda e: ["cache", "info", e.config(models__student__base_url="ftp://x/v1")],
        "base_url",
    ),
    Case(
        "cache info: cache_path is a directory",
        lambda e: ["cache", "info", e.config(cache_path=str(e.tmp))],
        lambda e: str(e.tmp),
    ),
    Case(
        "cache clear: cache_path is not SQLite",
        lambda e: ["cache", "clear", e.config(cache_path=e.text("notes.txt", "keep me\n"))],
        "notes.txt",
    ),
    Case(
        "cache info: a database without the table",
        lambda e: ["cache", "info", e.config(cache_path=other_database(e.tmp / "other.db"))],
        "other.db",
    ),
    Case(
        "cache clear: a database without the table",
        lambda e: ["cache", "clear", e.config(cache_path=other_database(e.tmp / "other.db"))],
        "other.db",
    ),
    # --- sandbox
    Case("sandbox without a file", lambda e: ["sandbox"], "JSONL file"),
    Case("sandbox file missing", lambda e: ["sandbox", str(e.tmp / "jobs.jsonl")], "jobs.jsonl"),
    Case("sandbox file is a directory", lambda e: ["sandbox", str(e.tmp)], lambda e: str(e.tmp)),
    Case("sandbox file binary", lambda e: ["sandbox", e.jobs(PNG)], "jobs.jsonl"),
    Case("sandbox empty file", lambda e: ["sandbox", e.jobs("\n")], "no jobs"),
    Case(
        "sandbox bad JSON line",
        lambda e: ["sandbox", e.jobs('{"id": 1, "code": "", "test": ""}\n{\n')],
        "line 2",
    ),
    Case("sandbox line not an object", lambda e: ["sandbox", e.jobs("[1]\n")], "line 1"),
    Case(
        "sandbox line without code",
        lambda e: ["sandbox", e.jobs('{"id": 1, "test": "x"}\n')],
        "code",
    ),
    Case(
        "sandbox negative timeout",
        lambda e: ["sandbox", e.jobs("{}"), "--timeout", "-1"],
        "timeout",
    ),
    Case("sandbox zero memory", lambda e: ["sandbox", e.jobs("{}"), "--memory-mb", "0"], "memory"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_one_line_and_no_call(
    case: Case,
    endpoint: FakeOpenAIServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    env = Env(tmp_path, endpoint.base_url)
    argv = case.argv(env)
    before = endpoint.request_count
    runs = tmp_path / "runs"
    directories_before = set(runs.iterdir()) if runs.is_dir() else set()
    capsys.readouterr()

    code = main(argv)

    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == case.code, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("concept-distill: error: "), err
    culprit = case.culprit if isinstance(case.culprit, str) else case.culprit(env)
    assert culprit in lines[0], err
    assert endpoint.request_count == before
    # Failing before spending leaves no run directory behind (nothing that looks resumable).
    directories_after = set(runs.iterdir()) if runs.is_dir() else set()
    assert directories_after == directories_before, sorted(map(str, directories_after))


def test_the_table_covers_every_command(tmp_path: Path) -> None:
    env = Env(tmp_path, "http://127.0.0.1:9/v1")
    commands = [(case.argv(env) or [""])[0] for case in CASES]
    assert len(CASES) >= 40
    assert {"run", "eval", "report", "cache", "sandbox"} <= set(commands)
    assert min(commands.count(c) for c in ("eval", "report", "sandbox")) >= 5
    assert commands.count("cache") >= 3


def test_the_base_config_is_valid(
    endpoint: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The control: without the breakage, the same config plans a run (spending nothing)."""
    env = Env(tmp_path, endpoint.base_url)
    before = endpoint.request_count

    code = main(["run", env.config(), "--dry-run"])

    assert code == 0, capsys.readouterr().err
    assert endpoint.request_count == before


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.mark.parametrize(
    ("role", "fault", "cause"),
    [
        ("student", Fail(401, message="invalid api key"), "HTTP 401"),
        ("student", Fail(404, message="model 's' not found"), "HTTP 404"),
        ("student", Fail(500), "HTTP 500"),
        ("student", None, "connection failed"),
    ],
    ids=["student-401", "student-404", "student-500", "student-unreachable"],
)
def test_a_failing_endpoint_stops_the_run_in_one_line(
    role: str,
    fault: Fail | None,
    cause: str,
    endpoint: FakeOpenAIServer,
    portal: BlockingPortal,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Exit 1 (a system failure, not bad input), naming the role, the endpoint and the cause;
    the retries are in run.log, the API key nowhere."""
    secret = "sk-bad-inputs-SECRET-0042"
    monkeypatch.setenv("BAD_INPUTS_KEY", secret)
    failing = FakeOpenAIServer(reply=lambda _request: fault) if fault is not None else None
    if failing is not None:
        portal.call(failing.start)
    url = failing.base_url if failing is not None else _closed_port_url()
    env = Env(tmp_path, endpoint.base_url)
    role_settings = {"base_url": url, "max_retries": 1, "retry_backoff_s": 0.01}
    changes = {f"models__{role}__{key}": value for key, value in role_settings.items()}
    try:
        code = main(["run", env.config(**changes, models__student__api_key_env="BAD_INPUTS_KEY")])
    finally:
        if failing is not None:
            portal.call(failing.aclose)

    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 1, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert role in lines[0] and url.removeprefix("http://") in lines[0] and cause in lines[0]
    log = "".join(path.read_text() for path in tmp_path.glob("runs/*/run.log"))
    assert f"WARNING concept_distill.models: {role} model" in log
    if fault is None or fault.status >= 500:
        assert "attempt 1 failed" in log  # a retryable fault was retried, and logged
    else:
        assert "attempt 1 failed" not in log  # 401/404: no retry
    assert secret not in err and secret not in log


@pytest.mark.parametrize("status", [401, 500, None], ids=["401", "500", "unreachable"])
def test_a_failing_endpoint_stops_eval_in_one_line(
    status: int | None,
    endpoint: FakeOpenAIServer,
    portal: BlockingPortal,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    failing = FakeOpenAIServer(reply=lambda _request: Fail(status or 500))
    portal.call(failing.start)
    url = failing.base_url if status is not None else _closed_port_url()
    env = Env(tmp_path, endpoint.base_url)
    try:
        code = main(["eval", env.config(models__student__base_url=url)])
    finally:
        portal.call(failing.aclose)

    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 1, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "student" in lines[0] and url.removeprefix("http://") in lines[0]
