"""Quick end-to-end checks of the sandbox API (a few programs, a second or two)."""

from __future__ import annotations

import pytest

from concept_distill.sandbox import Sandbox, SandboxJob, SandboxLimits

ADD = "def add(a, b):\n    return a + b\n"
NAP = "import time\n\ndef nap():\n    time.sleep(0.3)\n    return 1\n"
CHECK = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n"


@pytest.mark.anyio
async def test_plain_data_round_trips_and_verdicts_come_back_in_order(uid_base: int) -> None:
    jobs = [
        SandboxJob(program=ADD, tests=CHECK, entry_point="add"),
        SandboxJob(program=ADD, tests="assert add(2, 3) == 5\nassert add('a', 'b') == 'ab'\n"),
        SandboxJob(program="def add(a, b):\n    return a - b\n", tests=CHECK, entry_point="add"),
        SandboxJob(
            program="def pair(x):\n    return (x, [x], {x: {x}}, frozenset([x]), b'x')\n",
            tests="assert pair(1) == (1, [1], {1: {1}}, frozenset([1]), b'x')\n"
            "assert type(pair(1)) is tuple and type(pair(1)[1]) is list\n",
        ),
        SandboxJob(program="def f():\n    raise ValueError('nope')\n", tests="assert f() == 1\n"),
    ]
    limits = SandboxLimits(timeout_s=10, jobs=2, uid_base=uid_base)
    async with Sandbox(limits) as sandbox:
        batch = await sandbox.run_many(jobs)
        single = await sandbox.run(ADD, "assert add(1, 1) == 2\n")
        napping = await sandbox.run(NAP, "assert nap() == 1\n")
    assert [verdict.status for verdict in batch.verdicts] == [
        "passed",
        "passed",
        "failed",
        "passed",
        "error",
    ]
    assert "add(2, 3) returned -1" in batch.verdicts[2].detail
    assert "ValueError" in batch.verdicts[4].detail and "nope" in batch.verdicts[4].detail
    assert single.passed
    assert batch.isolation.strong, batch.isolation.summary()
    # Each verdict is timed: a program that sleeps 0.3 s takes at least that, and every run
    # ended well within the 10 s limit.
    assert napping.passed
    assert 0.3 <= napping.duration_s < 10
    assert all(0 < verdict.duration_s < 10 for verdict in [*batch.verdicts, single])


@pytest.mark.anyio
async def test_tests_that_never_finish_are_a_timeout_and_the_slot_still_works() -> None:
    limits = SandboxLimits(timeout_s=2, jobs=1)
    async with Sandbox(limits) as sandbox:
        stuck = await sandbox.run(ADD, "assert add(1, 2) == 3\nwhile True:\n    pass\n")
        after = await sandbox.run(ADD, "assert add(1, 2) == 3\n")
    assert stuck.status == "timeout"
    assert after.status == "passed"


@pytest.mark.anyio
async def test_programs_run_at_the_niceness_asked_for(uid_base: int) -> None:
    """A model server generating beside the sandbox keeps the CPU: programs run niced."""
    import os

    ours = os.nice(0)
    if ours > 9:
        pytest.skip(f"the tests run at niceness {ours}: 10 more cannot be told from 0 more")
    probe = "import os\n\ndef level():\n    return os.nice(0)\n"
    results = {}
    for niceness in (10, 0):
        limits = SandboxLimits(jobs=1, uid_base=uid_base, niceness=niceness)
        async with Sandbox(limits) as sandbox:
            verdict = await sandbox.run(probe, f"assert level() == {min(19, ours + niceness)}\n")
        results[niceness] = verdict.status
    assert results == {10: "passed", 0: "passed"}
