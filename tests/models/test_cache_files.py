"""A cache path that is not a response cache is refused in one line, and never deleted."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest

from concept_distill.errors import ConfigError
from concept_distill.models.cache import CachedReply, ResponseCache, cache_stats, clear_cache


def _other_database(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    db.close()
    return path


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        ResponseCache(tmp_path)
    with pytest.raises(ConfigError, match="is a directory"):
        cache_stats(tmp_path)
    with pytest.raises(ConfigError, match="is a directory"):
        clear_cache(tmp_path)
    assert tmp_path.is_dir()


def test_a_file_that_is_not_sqlite_is_refused_and_kept(tmp_path: Path) -> None:
    precious = tmp_path / "thesis.txt"
    precious.write_text("three years of work")

    for action in (ResponseCache, cache_stats, clear_cache):
        with pytest.raises(ConfigError, match=r"thesis\.txt is not a SQLite file"):
            action(precious)

    assert precious.read_text() == "three years of work"


def test_another_database_is_refused_and_kept(tmp_path: Path) -> None:
    other = _other_database(tmp_path / "notes.db")

    with pytest.raises(ConfigError, match=r"notes\.db is not a response cache"):
        cache_stats(other)
    with pytest.raises(ConfigError, match=r"notes\.db is not a response cache"):
        clear_cache(other)

    assert other.exists()


def test_a_real_cache_is_counted_and_cleared(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    assert cache_stats(path) is None and clear_cache(path) is False

    async def fill() -> None:
        cache = ResponseCache(path)
        await cache.put("k1", "m", CachedReply(text="a"))
        await cache.put("k2", "m", CachedReply(text="b"))
        await cache.aclose()

    anyio.run(fill)
    stats = cache_stats(path)

    assert stats is not None and stats.replies == 2 and stats.size_bytes > 0
    assert clear_cache(path) is True
    assert not path.exists() and not Path(f"{path}-wal").exists()


@pytest.mark.anyio
async def test_a_corrupt_database_fails_as_config_error_on_first_use(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    # A valid SQLite header followed by garbage: passes the header check, fails on open.
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    cache = ResponseCache(path)

    with pytest.raises(ConfigError, match=r"cache\.sqlite"):
        await cache.get("anything")
