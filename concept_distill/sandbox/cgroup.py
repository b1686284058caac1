"""A memory and process cgroup per slot for the candidate's processes (cgroup v1 controllers).

RLIMIT_AS bounds one process; a program that forks, fills memfds or shared memory multiplies it.
Each slot gets a cgroup that only the candidate's processes join (the candidate writes itself
into it, through a file the sandbox binds for it), so the kernel bounds everything the program
starts together, and an OOM kill there can only hit the program, never the warm server. Where the
kernel does not allow it (not root, cgroup v2 only), the layer is reported missing and rlimits
remain.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_ROOT = Path("/sys/fs/cgroup")


def _own_path(controller: str) -> str:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path
    raise OSError(2, f"no v1 {controller} cgroup controller here")


class SlotCgroup:
    """The slot's memory and pids cgroups, joinable by the sandbox uid."""

    def __init__(self, memory_dir: Path, pids_dir: Path) -> None:
        self.memory_dir = memory_dir
        self.pids_dir = pids_dir
        self._memory_limit = -1

    @classmethod
    def create(cls, name: str, uid: int, processes: int) -> SlotCgroup:
        """Make the cgroups, let `uid` join them; OSError where this is not allowed."""
        if os.geteuid() != 0:
            raise OSError(1, "creating cgroups needs root")
        directories = []
        for controller in ("memory", "pids"):
            directory = _ROOT / controller / _own_path(controller).lstrip("/") / name
            directory.mkdir(exist_ok=True)
            os.chown(directory / "cgroup.procs", uid, -1)
            directories.append(directory)
        group = cls(*directories)
        (group.pids_dir / "pids.max").write_text(str(processes))
        return group

    def join_files(self) -> tuple[Path, Path]:
        """The files a process writes 0 to, to join (memory, pids)."""
        return self.memory_dir / "cgroup.procs", self.pids_dir / "cgroup.procs"

    def limit_memory(self, memory_bytes: int) -> None:
        """Bound the memory of everything the program runs, together."""
        if memory_bytes == self._memory_limit:
            return
        (self.memory_dir / "memory.limit_in_bytes").write_text(str(memory_bytes))
        with contextlib.suppress(OSError):
            (self.memory_dir / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
        self._memory_limit = memory_bytes

    def oom_kills(self) -> int:
        """How many processes the kernel killed for memory in this slot so far."""
        for line in (self.memory_dir / "memory.oom_control").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def remove(self) -> None:
        """Delete the directories (their processes must be gone)."""
        for directory in (self.memory_dir, self.pids_dir):
            with contextlib.suppress(OSError):
                directory.rmdir()
