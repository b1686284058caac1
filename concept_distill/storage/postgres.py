"""One PostgreSQL database holding everything a resume needs, shared by any number of workers.

`PostgresStorage` owns a connection pool for one invocation and serves from it what a run keeps
outside its run directory when `storage.backend` is `postgres`: LangGraph's checkpoints
(`AsyncPostgresSaver`), the response cache, the per-call ledger, and the run's entry (its config, so
a worker that has only the run id can resume it), plus a copy of each evaluation's per-example
results, so the worker that finishes a run writes every results file, whoever evaluated it. A run is
identified by its run id, the same on every host, and is worked on by one process at a time: `claim`
takes a session-level advisory lock on the id, which the server drops when the holder's connection
closes, so a worker killed with kill -9 never blocks the resume.

Tables are created when missing, under an advisory lock so that workers starting at once do not
race on `CREATE TABLE`. The cache and the ledger are in `pg_cache.py` and `pg_ledger.py`;
connecting, and keeping the connection string out of every message, in `pg_connect.py`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING

import anyio
import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from concept_distill.errors import ConfigError, RunInUse
from concept_distill.storage.pg_cache import PostgresResponseCache
from concept_distill.storage.pg_connect import CONNECT_TIMEOUT_S, Pool, connect
from concept_distill.storage.pg_ledger import PostgresLedgerStore

if TYPE_CHECKING:
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS concept_distill_runs (
        run_id TEXT PRIMARY KEY,
        config TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS concept_distill_calls (
        seq BIGSERIAL PRIMARY KEY,
        run_id TEXT NOT NULL,
        record TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS concept_distill_calls_run ON concept_distill_calls (run_id, seq)",
    """CREATE TABLE IF NOT EXISTS concept_distill_outputs (
        run_id TEXT NOT NULL,
        name TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (run_id, name)
    )""",
    """CREATE TABLE IF NOT EXISTS concept_distill_responses (
        key TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        value TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL
    )""",
)
_SETUP_LOCK = 0x636F_6E63_6570_7401
"""Advisory lock key serialising schema set-up across workers (any constant no one else uses)."""
POOL_SIZE = 8
"""Connections per invocation: the graph's checkpoint writes plus concurrent cache and ledger."""


class PostgresStorage:
    """A pool on the shared database, opened by `async with` and closed on leaving it."""

    def __init__(self, url: str, *, url_env: str = "the database URL") -> None:
        self._url = url
        self._url_env = url_env
        self._pool: Pool | None = None

    def __repr__(self) -> str:
        return f"PostgresStorage(${self._url_env})"  # never the URL: it may hold a password

    async def __aenter__(self) -> PostgresStorage:
        # One plain connection first: a wrong URL or password fails at once with the server's
        # reason, where the pool would retry until its time-out and say only that.
        probe = await connect(self._url, self._url_env)
        await probe.close()
        pool: Pool = AsyncConnectionPool(
            self._url,
            min_size=1,
            max_size=POOL_SIZE,
            open=False,
            # What AsyncPostgresSaver requires of its connections; our own queries are single
            # statements or explicit transactions, so autocommit suits them too.
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            name="concept-distill",
        )
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except Exception as error:
            await pool.close()
            reason = " ".join(str(error).split()) or type(error).__name__
            raise ConfigError(f"storage: cannot connect to ${self._url_env}: {reason}") from None
        self._pool = pool
        try:
            await self._setup()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pool (safe to call twice)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    @property
    def pool(self) -> Pool:
        """The open pool."""
        assert self._pool is not None, "use PostgresStorage as an async context manager"
        return self._pool

    async def _setup(self) -> None:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        if await self._schema_ready(len(AsyncPostgresSaver.MIGRATIONS) - 1):
            return  # no DDL: it would lock tables that running workers are writing

        # A session-level lock, not a transaction's: LangGraph's migrations create indexes
        # CONCURRENTLY, which cannot run inside a transaction, and which wait for every open
        # transaction, so a worker waiting for the lock must not wait inside one (it would
        # deadlock): it tries, and sleeps between tries. The lock goes with the connection if
        # this process dies here.
        async with self.pool.connection() as connection:
            while True:
                cursor = await connection.execute(
                    "SELECT pg_try_advisory_lock(%s) AS locked", (_SETUP_LOCK,)
                )
                row = await cursor.fetchone()
                if row is not None and row["locked"]:
                    break
                await anyio.sleep(0.05)
            try:
                for statement in _SCHEMA:
                    await connection.execute(statement)
                await AsyncPostgresSaver(connection).setup()
            finally:
                await connection.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK,))

    async def _schema_ready(self, last_migration: int) -> bool:
        """Whether our tables and LangGraph's latest migration are all in place already."""
        async with self.pool.connection() as connection:
            cursor = await connection.execute(
                "SELECT to_regclass('concept_distill_runs') IS NOT NULL"
                " AND to_regclass('concept_distill_calls_run') IS NOT NULL"
                " AND to_regclass('concept_distill_responses') IS NOT NULL"
                " AND to_regclass('concept_distill_outputs') IS NOT NULL"
                " AND to_regclass('checkpoint_migrations') IS NOT NULL AS ready"
            )
            row = await cursor.fetchone()
            if row is None or not row["ready"]:
                return False
            cursor = await connection.execute(
                "SELECT EXISTS (SELECT 1 FROM checkpoint_migrations WHERE v = %s) AS ready",
                (last_migration,),
            )
            row = await cursor.fetchone()
        return row is not None and bool(row["ready"])

    def checkpointer(self) -> AsyncPostgresSaver:
        """LangGraph's saver on this pool (tables set up when the storage opened)."""
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        return AsyncPostgresSaver(self.pool)

    def cache(self) -> PostgresResponseCache:
        """The response cache, shared by every run in the database."""
        return PostgresResponseCache(self.pool)

    def ledger(self, run_id: str) -> PostgresLedgerStore:
        """The call ledger of run `run_id`."""
        return PostgresLedgerStore(self.pool, run_id)

    async def save_output(self, run_id: str, name: str, body: str) -> None:
        """Keep a file the run wrote (a `results/*.jsonl`), so any worker can write it again."""
        async with self.pool.connection() as connection:
            await connection.execute(
                "INSERT INTO concept_distill_outputs (run_id, name, body) VALUES (%s, %s, %s) "
                "ON CONFLICT (run_id, name) DO UPDATE SET body = EXCLUDED.body",
                (run_id, name, body),
            )

    async def outputs(self, run_id: str) -> dict[str, str]:
        """The files kept by `save_output` for run `run_id`, by name."""
        async with self.pool.connection() as connection:
            cursor = await connection.execute(
                "SELECT name, body FROM concept_distill_outputs WHERE run_id = %s ORDER BY name",
                (run_id,),
            )
            rows = await cursor.fetchall()
        return {str(row["name"]): str(row["body"]) for row in rows}

    async def register(self, run_id: str, config_yaml: str, *, fresh: bool | None) -> None:
        """Record the run and its config; `fresh` True refuses a known id, False an unknown one.

        None (the graph opening its own resources, as on LangGraph Server) accepts either.

        Raises:
            ConfigError: naming the run id, when it is (or is not) known as `fresh` demands.
        """
        async with self.pool.connection() as connection:
            cursor = await connection.execute(
                "INSERT INTO concept_distill_runs (run_id, config, created) VALUES (%s, %s, %s) "
                "ON CONFLICT (run_id) DO NOTHING",
                (run_id, config_yaml, time.time()),
            )
            inserted = cursor.rowcount == 1
        if fresh is True and not inserted:
            raise ConfigError(
                f"run {run_id} already exists in the database; resume it with "
                f"--resume-id {run_id}, or choose another --run-dir name for a new run"
            )
        if fresh is False and inserted:
            async with self.pool.connection() as connection:
                await connection.execute(
                    "DELETE FROM concept_distill_runs WHERE run_id = %s", (run_id,)
                )
            raise ConfigError(f"nothing to resume: no run {run_id} in the database")

    @asynccontextmanager
    async def claim(self, run_id: str) -> AsyncIterator[None]:
        """Hold the run for this process alone; another holder is refused with `RunInUse`.

        The lock lives on a connection of its own, outside the pool: the server releases it when
        that connection ends, however the process ended.
        """
        connection = await connect(self._url, self._url_env)
        try:
            cursor = await connection.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))",
                (f"concept-distill run {run_id}",),
            )
            row = await cursor.fetchone()
            if row is None or not row[0]:
                raise RunInUse(run_id)
            yield
        finally:
            await connection.close()


async def saved_config(url: str, run_id: str, *, url_env: str) -> str:
    """The config YAML a run was started with, read from the database by its run id.

    Raises:
        ConfigError: when the database cannot be reached, or knows no such run.
    """
    connection = await connect(url, url_env)
    try:
        cursor = await connection.execute(
            "SELECT config FROM concept_distill_runs WHERE run_id = %s", (run_id,)
        )
        row = await cursor.fetchone()
    except psycopg.errors.UndefinedTable:
        row = None
    finally:
        await connection.close()
    if row is None:
        raise ConfigError(f"nothing to resume: no run {run_id} in the database at ${url_env}")
    return str(row[0])
