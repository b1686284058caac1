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
from typing import Any, Protocol, TypeVar, TypeVarTuple, Unpack

import anyio
import anyio.to_thread
from pydantic import BaseModel, ConfigDict

from concept_distill.errors import ConfigError

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
_SQLITE_MAGIC = b"SQLite format 3\x00"


def check_cache_file(path: Path) -> None:
    """Refuse, before any model call, a cache path that cannot be (or is not) a response cache.

    A missing file is fine (it is created on first use); a directory, a file that is not SQLite,
    or an unreadable one is the user's input to fix. One stat and a 16-byte read.

    Raises:
        ConfigError: naming the path and what is wrong with it.
    """
    if not path.exists():
        return
    if path.is_dir():
        raise ConfigError(f"cache_path {path} is a directory; give a file such as cache.sqlite")
    try:
        with path.open("rb") as file:
            header = file.read(len(_SQLITE_MAGIC))
    except OSError as error:
        raise ConfigError(f"cache_path {path}: cannot read it ({error.strerror})") from error
    if header and header != _SQLITE_MAGIC:
        raise ConfigError(f"cache_path {path} is not a SQLite file (not a response cache)")


class CacheStats(BaseModel):
    """What `cache info` shows."""

    model_config = ConfigDict(frozen=True)

    replies: int
    size_bytes: int


def cache_stats(path: Path) -> CacheStats | None:
    """Replies stored and file size, or None when there is no cache yet (blocking; for the CLI).

    Raises:
        ConfigError: when `path` is a directory, not SQLite, or a database without the table.
    """
    if not path.exists():
        return None
    check_cache_file(path)
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            (count,) = connection.execute("SELECT COUNT(*) FROM responses").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise ConfigError(f"{path} is not a response cache ({error})") from error
    return CacheStats(replies=int(count), size_bytes=path.stat().st_size)


def clear_cache(path: Path) -> bool:
    """Delete the cache file and its WAL files; False when there was none (blocking; for the CLI).

    Only a response cache is deleted: a directory, another SQLite database or any other file at
    `path` is refused, as a mistyped `cache_path` must not cost the user a file.

    Raises:
        ConfigError: when `path` is not a response cache.
    """
    if cache_stats(path) is None:
        return False
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return True


class CachedReply(BaseModel):
    """What the cache keeps of a reply: enough to answer again and to account for it."""

    model_config = ConfigDict(frozen=True)

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None


class ReplyCache(Protocol):
    """Where replies are kept by request key (`cache_key`), for every role and every re-run.

    Promises: `get` returns a reply some earlier `put` stored under exactly that key (or None);
    `put` returns only once the reply is durable, so a reply the caller got is never paid again
    after a crash. The SQLite `ResponseCache` and the PostgreSQL cache (`storage/postgres.py`)
    keep it.
    """

    async def get(self, key: str) -> CachedReply | None:
        """The reply stored under `key`, or None."""
        ...

    async def put(self, key: str, model: str, reply: CachedReply) -> None:
        """Store `reply` under `key`, durably, replacing any older one."""
        ...

    async def aclose(self) -> None:
        """Write anything pending and let go of the storage."""
        ...


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
        """Check the path and remember it; the database is opened on first use, in a thread.

        Raises:
            ConfigError: when the path is a directory or a file that is not SQLite.
        """
        self.path = Path(path)
        check_cache_file(self.path)
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
            try:
                self._connection = self._connect()
            except (OSError, sqlite3.DatabaseError) as error:
                raise ConfigError(f"cache_path {self.path}: cannot open it ({error})") from error
        return self._connection

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL cannot corrupt the file; a power cut may drop the last few
            # replies, which only costs calls again. FULL would fsync on every reply stored.
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA busy_timeout=5000")
            connection.execute(_SCHEMA)
        except sqlite3.DatabaseError:
            connection.close()
            raise
        return connection

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
