"""File helpers shared by fetching and building: hashing and a cross-process lock."""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

CHUNK = 1 << 20
"""Read size for hashing and copying: large enough to be fast, small enough to stay flat."""


def sha256_file(path: Path, on_chunk: Callable[[int], object] | None = None) -> str:
    """Return the hex sha256 of `path`, calling `on_chunk(n)` after each n bytes (for progress)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            if on_chunk is not None:
                on_chunk(len(chunk))
    return digest.hexdigest()


@contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on `lock_path`, waiting while another process holds it.

    Two `make` runs (or a test session and a CLI call) may fetch or build at the same time; the
    lock makes the second wait and then find the finished result instead of interleaving writes.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
