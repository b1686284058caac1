"""One process per run directory, through a lock the operating system drops when its holder dies.

Two processes writing one run directory would interleave checkpoints, ledger lines and results.
`RunLock` takes an exclusive `flock` on `<run_dir>/.lock` without waiting: a second process is
refused at once (`RunDirectoryInUse`, exit 2), and since the kernel releases a `flock` when the
last descriptor closes, a holder killed with kill -9 leaves nothing behind, so `--resume` after a
crash is never refused. Once it holds the lock, a process removes the temporary files of atomic
writes a killed holder never finished. The lock file itself stays (empty but for the holder's
pid, a hint for the message); it is not a sign that a run is in progress, the lock on it is.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from concept_distill.errors import RunDirectoryInUse
from concept_distill.report.run_dir import remove_temporaries

LOCK_FILE = ".lock"


class RunLock:
    """An exclusive, non-blocking lock on one run directory, held until `release`.

    Blocking file calls: run `acquire` and `release` in a worker thread.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise `RunDirectoryInUse` if another open holds it."""
        # Not inherited by child processes (sandboxes, llama-server): a child that outlives us
        # must not keep the run directory locked.
        fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise RunDirectoryInUse(self.directory, holder) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            # Only the holder writes here: a temporary file is from a holder killed mid-write.
            remove_temporaries(self.directory)
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Drop the lock (closing the descriptor releases it); safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def _read_pid(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip())
    return None
