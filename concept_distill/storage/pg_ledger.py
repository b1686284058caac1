"""The call ledger of one run in the shared database (the `LedgerStore` of `models/ledger.py`)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from concept_distill.models.ledger import CallRecord
from concept_distill.storage.pg_connect import Pool


class PostgresLedgerStore:
    """The `LedgerStore` of one run: its call records, in the order they were appended."""

    def __init__(self, pool: Pool, run_id: str) -> None:
        self._pool = pool
        self.run_id = run_id

    def __repr__(self) -> str:
        return f"PostgresLedgerStore({self.run_id!r})"

    async def load(self) -> list[CallRecord]:
        """Every record of this run so far, oldest first."""
        async with self._pool.connection() as connection:
            cursor = await connection.execute(
                "SELECT record FROM concept_distill_calls WHERE run_id = %s ORDER BY seq",
                (self.run_id,),
            )
            rows = await cursor.fetchall()
        return [CallRecord.model_validate(json.loads(row["record"])) for row in rows]

    async def append(self, records: Sequence[CallRecord]) -> None:
        """Store `records` in one transaction; returns once they are committed."""
        rows = [(self.run_id, record.model_dump_json()) for record in records]
        async with (
            self._pool.connection() as connection,
            connection.transaction(),
            connection.cursor() as cursor,
        ):
            await cursor.executemany(
                "INSERT INTO concept_distill_calls (run_id, record) VALUES (%s, %s)", rows
            )
