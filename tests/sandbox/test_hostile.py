"""The hostile suite: cheating and escaping programs run among the canonical HumanEval solutions.

What matters most: no hostile program is ever `passed`, and every canonical solution still is.
Around that: each hostile program gets its expected status, the parent's secret never shows up,
no host file changes, and no process outlives its program or the sandbox.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostile import Context, HostileCase, all_cases
from sandbox_support import (
    REPO,
    canonical_job,
    file_state,
    sandbox_processes,
    secret_hits,
    tree_state,
    wait_until_gone,
)

from concept_distill.sandbox import Sandbox, SandboxJob, SandboxLimits, Verdict

# Generous on a machine shared with builds; the hostile programs go far past every limit.
TIMEOUT_S = 5.0
MEMORY_MB = 256


def limits(uid_base: int, jobs: int | None = None) -> SandboxLimits:
    return SandboxLimits(
        timeout_s=TIMEOUT_S,
        memory_mb=MEMORY_MB,
        jobs=jobs or max(4, os.cpu_count() or 1),
        uid_base=uid_base,
    )


@pytest.fixture
def context() -> Iterator[Context]:
    """Host files the hostile programs aim at: a world-writable canary and files to delete."""
    mark = f"cd-hostile-{secrets.token_hex(8)}"
    canary_dir = Path(tempfile.mkdtemp(prefix="cd-canary-", dir="/tmp"))
    canary_dir.chmod(0o777)  # the sandbox uid could write here, were the directory visible
    canary = canary_dir / "canary.txt"
    canary.write_text(f"canary {mark}\n")
    canary.chmod(0o666)
    victim_repo = REPO / "tests" / "sandbox" / f"{mark}.victim"
    usr_writable = os.access("/usr", os.W_OK)
    victim_usr = Path("/usr" if usr_writable else canary_dir) / f"{mark}.victim"
    for victim in (victim_repo, victim_usr):
        victim.write_text("delete me if you can\n")
        victim.chmod(0o666)
    made = Context(
        canary=canary,
        mark=mark,
        repo=REPO,
        home=Path.home(),
        victim_repo=victim_repo,
        victim_usr=victim_usr,
    )
    try:
        yield made
    finally:
        for path in (victim_repo, victim_usr, *made.targets()):
            if path.is_file():
                path.unlink()
        shutil.rmtree(canary_dir, ignore_errors=True)


def host_state(context: Context) -> dict[str, Any]:
    """What must not change on the host while hostile programs run."""
    return {
        "canary": file_state(context.canary),
        "victims": [file_state(context.victim_repo), file_state(context.victim_usr)],
        "targets": {str(path): path.exists() for path in context.targets()},
        "hostile tree": tree_state(REPO / "tests" / "sandbox" / "hostile"),
    }


def mismatches(cases: list[HostileCase], verdicts: list[Verdict]) -> list[str]:
    """Hostile cases that passed or got an unexpected status, explained."""
    wrong = []
    for item, verdict in zip(cases, verdicts, strict=True):
        if verdict.passed or verdict.status not in item.expected:
            wrong.append(
                f"{item.name}: {verdict.status} (expected {'/'.join(sorted(item.expected))}: "
                f"{item.why}); detail: {verdict.detail[:400]!r}"
            )
    return wrong


def interleave(
    hostile: list[SandboxJob], canonical: list[SandboxJob]
) -> tuple[list[SandboxJob], list[tuple[str, int]]]:
    """One list mixing both kinds, so hostile programs run next to canonical ones."""
    jobs: list[SandboxJob] = []
    origin: list[tuple[str, int]] = []
    step = max(1, len(canonical) // max(1, len(hostile)))
    canonical_left = list(enumerate(canonical))
    for index, job in enumerate(hostile):
        jobs.append(job)
        origin.append(("hostile", index))
        for _ in range(step):
            if canonical_left:
                position, other = canonical_left.pop(0)
                jobs.append(other)
                origin.append(("canonical", position))
    for position, other in canonical_left:
        jobs.append(other)
        origin.append(("canonical", position))
    return jobs, origin


def as_job(item: HostileCase) -> SandboxJob:
    return SandboxJob(
        program=item.program, tests=item.tests, entry_point=item.entry_point, trusted=item.trusted
    )


def test_the_suite_is_big_enough(context: Context) -> None:
    cases = all_cases(context)
    assert len(cases) >= 45
    assert all(item.expected and "passed" not in item.expected for item in cases)
    assert all(item.why for item in cases)


@pytest.mark.slow
@pytest.mark.anyio
async def test_hostile_programs_among_canonical_solutions(
    monkeypatch: pytest.MonkeyPatch,
    context: Context,
    uid_base: int,
    problems: list[dict[str, Any]],
) -> None:
    secret = f"sk-proj-cdcanary{secrets.token_hex(24)}"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    cases = all_cases(context)
    canonical = [canonical_job(problem) for problem in problems]
    jobs, origin = interleave([as_job(item) for item in cases], canonical)
    assert not wait_until_gone(uid_base), "an earlier sandbox left processes behind"
    before = host_state(context)

    async with Sandbox(limits(uid_base)) as sandbox:
        servers = sandbox_processes(uid_base)
        batch = await sandbox.run_many(jobs)
        while_open = sandbox_processes(uid_base)
    left_over = wait_until_gone(uid_base)

    assert batch.isolation.strong, batch.isolation.summary()
    assert len(batch.verdicts) == len(jobs)
    hostile_verdicts: list[Verdict | None] = [None] * len(cases)
    canonical_verdicts: list[Verdict | None] = [None] * len(canonical)
    for (kind, index), verdict in zip(origin, batch.verdicts, strict=True):
        (hostile_verdicts if kind == "hostile" else canonical_verdicts)[index] = verdict
    failed_canonical = [
        f"{problems[index]['task_id']}: {verdict.status} {verdict.detail[:300]!r}"
        for index, verdict in enumerate(canonical_verdicts)
        if verdict is None or not verdict.passed
    ]
    assert not failed_canonical, "\n".join(failed_canonical)
    assert not [item.name for item, v in zip(cases, hostile_verdicts, strict=True) if v is None]
    passed = [item.name for item, v in zip(cases, hostile_verdicts, strict=True) if v and v.passed]
    assert not passed, f"hostile programs PASSED: {passed}"
    wrong = mismatches(cases, [v for v in hostile_verdicts if v is not None])
    assert not wrong, "\n".join(wrong)

    texts = [verdict.detail for verdict in batch.verdicts] + [batch.model_dump_json()]
    assert not secret_hits(secret, texts), "the parent's secret reached a verdict"
    assert host_state(context) == before, "a file outside the sandbox changed"
    assert while_open == servers, (
        f"processes besides the servers while the sandbox was open: {while_open - servers}; "
        f"servers gone: {servers - while_open}"
    )
    assert servers, "no sandbox server found under the sandbox uids: is the uid layer active?"
    assert not left_over, f"processes left after the sandbox closed: {left_over}"


PERSIST_WRITE = """
import os
for directory in ("/tmp", "/dev/shm", "/", "/dev"):
    try:
        with open(os.path.join(directory, "{name}"), "w") as handle:
            handle.write("left by an earlier program")
    except OSError:
        pass

def add(a, b):
    return 0
"""
PERSIST_LOOK = """
import os

def leftover(directory):
    return os.path.exists(os.path.join(directory, "{name}"))
"""


@pytest.mark.slow
@pytest.mark.anyio
@pytest.mark.parametrize(
    "directory",
    [
        "/tmp",
        "/dev/shm",
        "/",
        "/dev",
    ],
)
async def test_no_file_survives_into_the_next_program(directory: str, uid_base: int) -> None:
    """Two programs in turn on the same slot: the second must not see what the first wrote."""
    name = f"cd-persist-{secrets.token_hex(6)}"
    async with Sandbox(limits(uid_base, jobs=1)) as sandbox:
        first = await sandbox.run(PERSIST_WRITE.format(name=name), "assert add(2, 3) == 5\n")
        second = await sandbox.run(
            PERSIST_LOOK.format(name=name), f"assert leftover({directory!r}) is False\n"
        )
    assert first.status == "failed", first
    assert second.status == "passed", second


SYSV_WRITE = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
segment = libc.shmget({key}, 1 << 20, 0o1600)

def add(a, b):
    return segment
"""
SYSV_LOOK = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)

def leftover():
    return libc.shmget({key}, 0, 0) >= 0
"""


@pytest.mark.slow
@pytest.mark.anyio
async def test_no_sysv_segment_survives_into_the_next_program(uid_base: int) -> None:
    key = 0x5EED0000 + secrets.randbelow(1 << 16)
    async with Sandbox(limits(uid_base, jobs=1)) as sandbox:
        first = await sandbox.run(SYSV_WRITE.format(key=key), "assert add(2, 3) == 5\n")
        second = await sandbox.run(SYSV_LOOK.format(key=key), "assert leftover() is False\n")
    assert first.status in ("failed", "blocked", "error"), first
    # shmget is killed by the seccomp filter: no segment can exist, so looking is blocked too.
    assert second.status in ("passed", "blocked"), second
