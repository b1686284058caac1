"""Sandbox settings: limits per program and how much isolation is required."""

from __future__ import annotations

import math
import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SandboxLimits(BaseModel):
    """Limits applied to every candidate program, and the sandbox's concurrency."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: float = Field(10.0, gt=0, le=3600, description="Wall-clock limit per program.")
    memory_mb: int = Field(512, ge=64, description="Address-space limit of the candidate process.")
    output_kb: int = Field(1024, ge=1, description="Cap on stdout+stderr; beyond it: output_limit.")
    tmp_mb: int = Field(64, ge=1, description="Size of the program's private /tmp (its work dir).")
    shm_mb: int = Field(16, ge=1, description="Size of the program's private /dev/shm.")
    file_mb: int = Field(16, ge=1, description="Largest file the program may write.")
    open_files: int = Field(64, ge=16, description="Open file descriptors per process.")
    processes: int = Field(32, ge=4, description="Processes and threads the sandbox uid may run.")
    jobs: int | None = Field(
        None, ge=1, description="Programs run at once; default: the number of CPU cores."
    )
    python: str | None = Field(
        None,
        description="Interpreter inside the sandbox; default /usr/bin/python3 (readable by all).",
    )
    uid_base: int = Field(
        60000, ge=1000, le=65000, description="First of the dedicated uids (one per slot and role)."
    )
    niceness: int = Field(
        10,
        ge=0,
        le=19,
        description=(
            "CPU niceness of the sandbox's processes, so a model server beside them is served "
            "first. Measured: no help against a sandbox busy on every core (llama.cpp's threads "
            "wait for each other, so any time slice the sandbox gets stalls them all)."
        ),
    )
    allow_weak_isolation: bool = Field(
        False, description="Run even when an isolation layer is missing (the report says which)."
    )

    @property
    def job_count(self) -> int:
        """Programs run at once."""
        return self.jobs or os.cpu_count() or 1

    def for_job(self) -> dict[str, Any]:
        """The limits as the sandbox servers read them (plain data, bytes and seconds)."""
        mib = 1024 * 1024
        return {
            "timeout_s": self.timeout_s,
            "cpu_s": math.ceil(self.timeout_s) + 1,
            "memory_bytes": self.memory_mb * mib,
            "output_bytes": self.output_kb * 1024,
            "tmp_bytes": self.tmp_mb * mib,
            "shm_bytes": self.shm_mb * mib,
            "file_bytes": self.file_mb * mib,
            "open_files": self.open_files,
            "processes": self.processes,
        }
