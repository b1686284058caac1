"""The command line with `storage.backend: postgres`: bad storage inputs, one process per run id,
a run id started once, and `cache info|clear` on the database."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from support.configs import CLI, fake_role, write_config
from support.fakes import student_http_reply, teacher_http_reply
from support.postgres import PASSWORD, PostgresServer, database_url, postgres_server

from concept_distill.config import load_config
from concept_distill.distillation import distill
from concept_distill.testing import FakeOpenAIServer, RecordedRequest

__all__ = ["database_url", "postgres_server"]  # fixtures, used by name

pytestmark = pytest.mark.anyio
URL_ENV = "CONCEPT_DISTILL_DATABASE_URL"


def config_file(directory: Path, student: str, teacher: str, backend: str = "postgres") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return write_config(
        directory,
        splits={"seed": 3, "train": 6, "validation": 8, "test": 6},
        models={"student": fake_role(student, "s"), "teacher": fake_role(teacher, "t")},
        loop={"max_iterations": 1},
        concurrency=2,
        run_dir=str(directory / "runs"),
        storage={"backend": backend},
    )


@dataclass(frozen=True)
class Case:
    name: str
    argv: Callable[[Path, Path], list[str]]  # (postgres config, sqlite config) -> arguments
    env: Callable[[PostgresServer, str], dict[str, str | None]]  # (server, url) -> changes
    culprit: str


BAD = [
    Case("url variable unset", lambda c, _s: ["run", str(c)], lambda _p, _u: {URL_ENV: None},
         f"environment variable {URL_ENV} is not set"),
    Case("url variable empty", lambda c, _s: ["run", str(c)], lambda _p, _u: {URL_ENV: " "},
         f"environment variable {URL_ENV} is not set"),
    Case("wrong password", lambda c, _s: ["run", str(c)],
         lambda p, _u: {URL_ENV: p.url().replace(PASSWORD, "wrong-pw-41")},
         "password authentication failed"),
    Case("not a connection string", lambda c, _s: ["run", str(c)],
         lambda _p, _u: {URL_ENV: "host=x password=wrong-pw-41 =oops"},
         f"${URL_ENV} is not a PostgreSQL connection string"),
    Case("nothing listening", lambda c, _s: ["run", str(c)],
         lambda _p, _u: {URL_ENV: "postgresql://u:wrong-pw-41@127.0.0.1:1/d"},
         "Connection refused"),
    Case("resume an unknown id", lambda _c, _s: ["run", "--resume-id", "ghost"],
         lambda _p, u: {URL_ENV: u}, "nothing to resume: no run ghost"),
    Case("resume id, config in files", lambda _c, s: ["run", str(s), "--resume-id", "ghost"],
         lambda _p, u: {URL_ENV: u}, "keeps runs in files"),
    Case("resume and resume id", lambda _c, _s: ["run", "--resume", "x", "--resume-id", "ghost"],
         lambda _p, u: {URL_ENV: u}, "not both"),
    Case("cache info, url unset", lambda c, _s: ["cache", "info", str(c)],
         lambda _p, _u: {URL_ENV: None}, f"{URL_ENV} is not set"),
]  # fmt: skip


@pytest.mark.parametrize("case", BAD, ids=[case.name for case in BAD])
async def test_a_bad_storage_input_is_one_line_exit_2_before_any_call(
    case: Case, postgres_server: PostgresServer, database_url: str, tmp_path: Path
) -> None:
    async with FakeOpenAIServer(reply=student_http_reply) as server:
        postgres = config_file(tmp_path, server.base_url, server.base_url)
        sqlite = config_file(tmp_path / "files", server.base_url, server.base_url, "sqlite")
        env = dict(os.environ)
        for name, value in case.env(postgres_server, database_url).items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        done = await anyio.run_process(
            [*CLI, *case.argv(postgres, sqlite)], env=env, check=False, cwd=tmp_path
        )
        requests = server.request_count
    lines = done.stderr.decode().strip().splitlines()
    assert done.returncode == 2, lines
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    assert case.culprit in lines[0]
    assert PASSWORD not in lines[0] and "wrong-pw-41" not in lines[0]
    assert requests == 0
    assert not (tmp_path / "runs").exists()  # no run directory for a run that never started


async def test_a_run_id_is_started_once_and_its_cache_is_counted_and_cleared(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_ENV, database_url)
    async with (
        FakeOpenAIServer(reply=student_http_reply) as student,
        FakeOpenAIServer(reply=teacher_http_reply()) as teacher,
    ):
        config = config_file(tmp_path, student.base_url, teacher.base_url)
        await distill(load_config(config), run_dir=tmp_path / "a" / "nightly")
        paid = student.request_count + teacher.request_count
        again = await anyio.run_process(
            [*CLI, "run", str(config), "--run-dir", str(tmp_path / "b" / "nightly")], check=False
        )
        assert student.request_count + teacher.request_count == paid
    assert again.returncode == 2
    assert "run nightly already exists" in again.stderr.decode()
    assert "--resume-id nightly" in again.stderr.decode()

    def cache(command: str) -> str:
        done = subprocess.run([*CLI, "cache", command, str(config)], capture_output=True)
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode().strip()

    assert cache("info") == f"PostgreSQL at ${URL_ENV}: {paid} cached replies"
    assert cache("clear") == f"PostgreSQL at ${URL_ENV}: cleared {paid} cached replies"
    assert cache("info") == f"PostgreSQL at ${URL_ENV}: 0 cached replies"


async def test_a_second_worker_on_a_running_run_id_is_refused_and_the_first_finishes(
    database_url: str, tmp_path: Path
) -> None:
    reached, gate = anyio.Event(), anyio.Event()

    async def gated(request: RecordedRequest) -> str:
        reached.set()
        await gate.wait()
        return student_http_reply(request)

    env = {**os.environ, URL_ENV: database_url}
    async with (
        FakeOpenAIServer(reply=gated) as student,
        FakeOpenAIServer(reply=teacher_http_reply()) as teacher,
    ):
        config = config_file(tmp_path, student.base_url, teacher.base_url)
        first = await anyio.open_process(
            [*CLI, "run", str(config), "--run-dir", str(tmp_path / "a" / "nightly")],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        try:
            with anyio.fail_after(120):
                await reached.wait()
                intruder = await anyio.run_process(
                    [*CLI, "run", "--resume-id", "nightly", "--run-dir", str(tmp_path / "b")],
                    env=env,
                    check=False,
                )
            still_running = first.returncode is None
            gate.set()
            with anyio.fail_after(300):
                assert first.stderr is not None
                first_stderr = b"".join([chunk async for chunk in first.stderr]).decode()
                await first.wait()
        finally:
            if first.returncode is None:
                first.kill()
                await first.wait()
    lines = intruder.stderr.decode().strip().splitlines()
    assert intruder.returncode == 2 and len(lines) == 1, lines
    assert "run nightly is in use by another concept-distill process" in lines[0]
    assert still_running
    assert first.returncode == 0, first_stderr
    assert (tmp_path / "a" / "nightly" / "metrics.json").is_file()
