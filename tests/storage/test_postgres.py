"""The PostgreSQL storage on a real server: ledger, cache, run entries, the run claim, set-up."""

from __future__ import annotations

import os
import signal
import sys

import anyio
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream
from support.postgres import PASSWORD, PostgresServer, database_url, postgres_server

from concept_distill.errors import ConfigError, RunInUse
from concept_distill.models.cache import CachedReply
from concept_distill.models.ledger import CallLedger, CallRecord
from concept_distill.storage.pg_connect import database_url as url_from_env
from concept_distill.storage.postgres import PostgresStorage, saved_config

__all__ = ["database_url", "postgres_server"]  # fixtures, used by name

pytestmark = pytest.mark.anyio


async def test_the_ledger_reads_back_every_session_of_its_run_and_only_its_run(
    database_url: str,
) -> None:
    async with PostgresStorage(database_url) as storage:
        first = await CallLedger(storage.ledger("run-a")).open()
        reply = CallRecord(kind="reply", at=1.0, role="student", prompt_tokens=3)
        await storage.ledger("run-a").append([reply, reply])
        await storage.ledger("run-b").append([reply])
        assert first.totals().role("student").calls == 0  # appended behind its back
    async with PostgresStorage(database_url) as storage:  # as another process would
        second = await CallLedger(storage.ledger("run-a")).open()
        records = await storage.ledger("run-a").load()
        other = await storage.ledger("run-b").load()
    assert [record.kind for record in records] == ["session", "reply", "reply", "session"]
    assert second.totals().role("student").calls == 2
    assert second.totals().role("student").prompt_tokens == 6
    assert [record.kind for record in other] == ["reply"]


async def test_a_reply_one_worker_cached_is_found_by_another(database_url: str) -> None:
    stored = CachedReply(text="The answer is 4.", prompt_tokens=9, completion_tokens=5)
    async with PostgresStorage(database_url) as one, PostgresStorage(database_url) as other:
        assert await other.cache().get("k1") is None
        await one.cache().put("k1", "m", stored)
        assert await other.cache().get("k1") == stored
        await other.cache().put("k1", "m", stored.model_copy(update={"text": "5"}))
        found = await one.cache().get("k1")
    assert found is not None and found.text == "5"


async def test_run_entries_refuse_a_second_start_and_a_resume_of_nothing(
    database_url: str,
) -> None:
    async with PostgresStorage(database_url) as storage:
        await storage.register("r1", "task: {name: svamp}\n", fresh=True)
        with pytest.raises(ConfigError, match="run r1 already exists"):
            await storage.register("r1", "other", fresh=True)
        await storage.register("r1", "other", fresh=False)  # a resume: known, config kept
        await storage.register("r1", "other", fresh=None)
        with pytest.raises(ConfigError, match="no run r2 in the database"):
            await storage.register("r2", "x", fresh=False)
        with pytest.raises(ConfigError, match="no run r2"):  # the refused resume left nothing
            await storage.register("r2", "x", fresh=False)
    assert await saved_config(database_url, "r1", url_env="X") == "task: {name: svamp}\n"
    with pytest.raises(ConfigError, match="no run r3"):
        await saved_config(database_url, "r3", url_env="X")


async def test_one_process_per_run_id(database_url: str) -> None:
    async with PostgresStorage(database_url) as one, PostgresStorage(database_url) as other:
        async with one.claim("r1"), other.claim("r2"):
            with pytest.raises(RunInUse) as refused:
                async with other.claim("r1"):
                    pass
            assert refused.value.run_id == "r1"
        async with other.claim("r1"):  # released
            pass


async def test_a_claim_held_by_a_killed_process_is_free(database_url: str) -> None:
    script = (
        "import sys, anyio\n"
        "from concept_distill.storage.postgres import PostgresStorage\n"
        "async def main():\n"
        "    async with PostgresStorage(sys.argv[1]) as storage, storage.claim('r1'):\n"
        "        print('claimed', flush=True)\n"
        "        await anyio.sleep(60)\n"
        "anyio.run(main)\n"
    )
    holder = await anyio.open_process([sys.executable, "-c", script, database_url])
    try:
        assert holder.stdout is not None
        with anyio.fail_after(60):
            assert (await BufferedByteReceiveStream(holder.stdout).receive_until(b"\n", 99)) == (
                b"claimed"
            )
        async with PostgresStorage(database_url) as storage:
            with pytest.raises(RunInUse):
                async with storage.claim("r1"):
                    pass
            os.kill(holder.pid, signal.SIGKILL)
            await holder.wait()
            # The server notices the closed connection at once; allow it a moment.
            with anyio.fail_after(10):
                while True:
                    try:
                        async with storage.claim("r1"):
                            break
                    except RunInUse:
                        await anyio.sleep(0.1)
    finally:
        if holder.returncode is None:
            holder.kill()
        await holder.wait()


async def test_workers_starting_at_once_on_an_empty_database_all_set_it_up(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.create_database()
    opened: list[int] = []

    async def open_one(index: int) -> None:
        async with PostgresStorage(url) as storage:
            await storage.register(f"r{index}", "x", fresh=True)
            opened.append(index)

    async with anyio.create_task_group() as group:
        for index in range(8):
            group.start_soon(open_one, index)
    assert sorted(opened) == list(range(8))


async def test_an_unreachable_database_is_one_line_without_the_password(
    postgres_server: PostgresServer,
) -> None:
    wrong = postgres_server.url().replace(PASSWORD, "not-the-password-7q")
    with pytest.raises(ConfigError) as refused:
        async with PostgresStorage(wrong, url_env="DB_URL"):
            pass
    message = str(refused.value)
    assert message.startswith("storage: cannot connect to $DB_URL: ")
    assert "\n" not in message
    assert "not-the-password-7q" not in message and "password authentication failed" in message


async def test_a_malformed_url_is_refused_without_quoting_it() -> None:
    with pytest.raises(ConfigError) as refused:
        async with PostgresStorage("host=x password=sekrit9 =oops", url_env="DB_URL"):
            pass
    assert "sekrit9" not in str(refused.value)
    assert "$DB_URL is not a PostgreSQL connection string" in str(refused.value)


def test_the_url_comes_from_the_environment_variable_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOME_DB", " postgresql://u@h/d ")
    assert url_from_env("SOME_DB") == "postgresql://u@h/d"
    monkeypatch.delenv("SOME_DB")
    with pytest.raises(ConfigError, match="environment variable SOME_DB is not set"):
        url_from_env("SOME_DB")
