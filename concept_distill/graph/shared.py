"""Servers shared by concurrent invocations in one process, reference-counted.

Two llama-servers side by side on a small machine slow each other many times over, and each
sandbox fork-server pool holds processes and cgroups; so concurrent runs that ask for the same
server share one, started by the first to ask and stopped when the last lets go. Clients,
meters and run directories are never shared: they belong to one invocation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

import anyio

T = TypeVar("T")


class SharedPool:
    """Hands out one running instance per key; the last release stops it."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[Any, AbstractAsyncContextManager[Any], int]] = {}
        self._locks: dict[Hashable, anyio.Lock] = {}

    def users(self, key: Hashable) -> int:
        """How many holders the instance under `key` has (0: not running)."""
        entry = self._entries.get(key)
        return entry[2] if entry else 0

    @asynccontextmanager
    async def acquire(
        self, key: Hashable, factory: Callable[[], AbstractAsyncContextManager[T]]
    ) -> AsyncIterator[T]:
        """The instance for `key`, started by `factory()` if none runs; released on exit."""
        lock = self._locks.setdefault(key, anyio.Lock())
        async with lock:
            entry = self._entries.get(key)
            if entry is None:
                manager = factory()
                value = await manager.__aenter__()
                entry = (value, manager, 0)
            self._entries[key] = (entry[0], entry[1], entry[2] + 1)
        try:
            yield entry[0]
        finally:
            with anyio.CancelScope(shield=True):
                await self._release(key, lock)

    async def _release(self, key: Hashable, lock: anyio.Lock) -> None:
        async with lock:
            value, manager, users = self._entries[key]
            if users > 1:
                self._entries[key] = (value, manager, users - 1)
                return
            del self._entries[key]
            await manager.__aexit__(None, None, None)


SHARED = SharedPool()
"""The process-wide pool: embedded llama-servers and code sandboxes."""
