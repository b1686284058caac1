"""A persistent response cache on SQLite, so a re-run makes no model call it already made.

The key is a hash of everything that determines a reply (endpoint, model, messages, sampling
parameters, seed, and the sample index when sampling is random); the value is the reply text and
the usage it cost. No header, and so no API key, ever reaches the database. sqlite3 blocks, so every
database call runs in a worker thread, one at a time, off the event loop.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, TypeVarTuple, Unpack

import anyio
import anyio.to_thread
from pydantic import BaseModel, ConfigDict

T = TypeVar("T")
ArgsT = TypeVarTuple("ArgsT")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    value TEXT NOT NULL,
    created REAL NOT NULL
)
"""


class CachedReply(BaseModel):
    """What the cache keeps of a reply: enough to answer again and to account for it."""

    model_config = ConfigDict(frozen=True)

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None


def cache_key(
    *,
    endpoint: str,
    model: str,
    messages: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any],
    sample_index: int,
) -> str:
    """A stable hash of a request; equal requests (and only those) share a key.

    `params` holds the sampling parameters actually sent (temperature, max_tokens, seed,
    response_format). Callers pass `sample_index=0` for greedy calls, whose replies do not vary.
    """
    payload = {
        "endpoint": endpoint,
        "model": model,
        "messages": list(messages),
        "params": dict(params),
        "sample": sample_index,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class ResponseCache:
    """Replies by request key in one SQLite file, shared by every role of a run (and re-runs).

    Two things keep it off the critical path of a first run, where nearly every lookup misses:
    the keys already stored are loaded once when the file opens, so a miss needs no database
    read; and writes are batched, so many concurrent calls share one worker-thread hop. Every
    `put` returns only once its reply is on disk (in the batch it started or the next one).
    WAL mode and a busy timeout let several processes share the file, though a process only
    sees other processes' replies stored before it opened the file.
    """

    def __init__(self, path: str | Path) -> None:
        """Remember where the database lives; it is opened on first use, in a worker thread."""
        self.path = Path(path)
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._thread = anyio.CapacityLimiter(1)
        self._known: set[str] | None = None
        self._unindexed: set[str] = set()
        self._pending: dict[str, tuple[str, str]] = {}
        self._flushing = False
        self._next_batch_written: anyio.Event | None = None

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path)!r})"

    async def get(self, key: str) -> CachedReply | None:
        """The cached reply for `key`, or None."""
        pending = self._pending.get(key)
        if pending is not None:
            return CachedReply.model_validate_json(pending[1])
        if _short_key(key) not in await self._index():
            return None
        row = await self._run(self._select, key)
        return None if row is None else CachedReply.model_validate_json(row)

    async def put(self, key: str, model: str, reply: CachedReply) -> None:
        """Store `reply` under `key` (replacing any older entry)."""
        self._pending[key] = (model, reply.model_dump_json())
        (self._unindexed if self._known is None else self._known).add(_short_key(key))
        if self._flushing:
            # The running flush writes this entry with its next batch: wait until it is on disk,
            # so a reply the caller got is never lost to a kill -9 right after.
            if self._next_batch_written is None:
                self._next_batch_written = anyio.Event()
            await self._next_batch_written.wait()
        else:
            await self._flush()

    async def count(self) -> int:
        """How many replies are stored."""
        await self._flush()
        return await self._run(self._count)

    async def aclose(self) -> None:
        """Write pending replies and close the file; the cache reopens if used again."""
        await self._flush()
        await self._run(self._close)
        self._known = None

    async def _index(self) -> set[str]:
        """Short keys of every stored reply, read from the file on first use."""
        if self._known is None:
            loaded = await self._run(self._open)
            # Another task may have loaded it meanwhile; merge so no put is forgotten.
            self._known = (self._known or set()) | loaded | self._unindexed
            self._unindexed = set()
        return self._known

    async def _flush(self) -> None:
        self._flushing = True
        try:
            while self._pending:
                batch, self._pending = self._pending, {}
                written, self._next_batch_written = self._next_batch_written, None
                await self._run(self._insert_many, batch)
                if written is not None:
                    written.set()
        finally:
            self._flushing = False

    async def _run(self, function: Callable[[Unpack[ArgsT]], T], *args: *ArgsT) -> T:
        return await anyio.to_thread.run_sync(function, *args, limiter=self._thread)

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL cannot corrupt the file; a power cut may drop the last few
            # replies, which only costs calls again. FULL would fsync on every reply stored.
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA busy_timeout=5000")
            connection.execute(_SCHEMA)
            self._connection = connection
        return self._connection

    def _open(self) -> set[str]:
        with self._lock:
            rows = self._db().execute("SELECT key FROM responses").fetchall()
        return {_short_key(str(row[0])) for row in rows}

    def _select(self, key: str) -> str | None:
        with self._lock:
            row = self._db().execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _insert_many(self, batch: Mapping[str, tuple[str, str]]) -> None:
        now = time.time()
        rows = [(key, model, value, now) for key, (model, value) in batch.items()]
        with self._lock, self._db() as connection:
            connection.execute("BEGIN")
            connection.executemany(
                "INSERT OR REPLACE INTO responses (key, model, value, created) VALUES (?, ?, ?, ?)",
                rows,
            )

    def _count(self) -> int:
        with self._lock:
            return int(self._db().execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def _close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def _short_key(key: str) -> str:
    # A 64-bit prefix keeps the in-memory index small; a rare collision only costs a read.
    return key[:16]
