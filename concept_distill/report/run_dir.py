"""The run directory: the only writer of a run's files, each written atomically off the loop."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import anyio
from pydantic import BaseModel

from concept_distill.report.kill_hook import kill_here_if_asked


def atomic_write(path: Path, data: str) -> None:
    """Write `data` to `path` whole or not at all: a temporary file, fsync, then rename.

    Blocking: call it in a worker thread.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


TEMPORARY_PATTERN = ".*.tmp"
"""How `atomic_write` names its temporary files (hidden, `.<name>.<random>.tmp`)."""


def remove_temporaries(root: Path) -> list[Path]:
    """Delete the temporaries of atomic writes whose writer died before renaming them.

    Only safe while no one writes the directory: its holder calls it right after locking it.
    """
    found = sorted(root.rglob(TEMPORARY_PATTERN))
    for path in found:
        path.unlink(missing_ok=True)
    return found


def _plain(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


class RunDirectory:
    """A directory holding one run's files; all writes are atomic and happen in worker threads."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, root: Path, label: str) -> RunDirectory:
        """A new, uniquely named directory under `root` (created in the caller's thread)."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for attempt in range(1000):
            suffix = f"-{attempt}" if attempt else ""
            path = root / f"{stamp}-{label}{suffix}"
            try:
                path.mkdir(parents=True)
            except FileExistsError:
                continue
            return cls(path)
        raise RuntimeError(f"cannot create a run directory under {root}")

    async def write_text(self, name: str, text: str) -> Path:
        """Write a text file atomically."""
        kill_here_if_asked(name)
        target = self.path / name
        await anyio.to_thread.run_sync(atomic_write, target, text)
        return target

    async def write_json(self, name: str, value: Any) -> Path:
        """Write one JSON document."""
        text = json.dumps(_plain(value), indent=2, ensure_ascii=False) + "\n"
        return await self.write_text(name, text)

    async def write_jsonl(self, name: str, rows: Iterable[Any]) -> Path:
        """Write JSON lines, one record per line."""
        return await self.write_text(name, jsonl_text(rows))


def jsonl_text(rows: Iterable[Any]) -> str:
    """JSON lines, one record per line, as `RunDirectory.write_jsonl` writes them."""
    return "".join(json.dumps(_plain(row), ensure_ascii=False) + "\n" for row in rows)
