"""The response cache in the shared database: a reply any worker stored is found by every other."""

from __future__ import annotations

import time

import psycopg

from concept_distill.models.cache import CachedReply
from concept_distill.storage.pg_connect import Pool, connect


class PostgresResponseCache:
    """The response cache in the database: a reply any worker stored is found by every other.

    Same keys and values as the SQLite `ResponseCache`; `put` returns once the row is committed.
    """

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def __repr__(self) -> str:
        return "PostgresResponseCache()"

    async def get(self, key: str) -> CachedReply | None:
        """The cached reply for `key`, or None."""
        async with self._pool.connection() as connection:
            cursor = await connection.execute(
                "SELECT value FROM concept_distill_responses WHERE key = %s", (key,)
            )
            row = await cursor.fetchone()
        return None if row is None else CachedReply.model_validate_json(row["value"])

    async def put(self, key: str, model: str, reply: CachedReply) -> None:
        """Store `reply` under `key` (replacing any older entry)."""
        async with self._pool.connection() as connection:
            await connection.execute(
                "INSERT INTO concept_distill_responses (key, model, value, created) "
                "VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, model = EXCLUDED.model",
                (key, model, reply.model_dump_json(), time.time()),
            )

    async def aclose(self) -> None:
        """Nothing to close: the pool belongs to `PostgresStorage`."""


async def cached_replies(url: str, *, url_env: str, clear: bool = False) -> int:
    """How many replies the database's response cache holds (for `cache info|clear`).

    With `clear`, they are deleted, and the count is of those deleted.

    Raises:
        ConfigError: when the database cannot be reached.
    """
    connection = await connect(url, url_env)
    try:
        if clear:
            cursor = await connection.execute("DELETE FROM concept_distill_responses")
            return max(cursor.rowcount, 0)
        cursor = await connection.execute("SELECT COUNT(*) FROM concept_distill_responses")
        row = await cursor.fetchone()
        return int(row[0]) if row is not None else 0
    except psycopg.errors.UndefinedTable:
        return 0  # no run has used this database yet
    finally:
        await connection.close()
