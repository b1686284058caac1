"""HumanEval through the sandbox: every reference solution passes, no empty body does."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_support import canonical_job, empty_body_job

from concept_distill.sandbox import Sandbox, SandboxLimits

# Generous: the machine is shared with builds, and no reference solution needs a tenth of this.
LIMITS = {"timeout_s": 10.0, "memory_mb": 512}


@pytest.mark.slow
@pytest.mark.anyio
async def test_every_canonical_solution_passes(
    problems: list[dict[str, Any]], uid_base: int
) -> None:
    async with Sandbox(SandboxLimits(**LIMITS, uid_base=uid_base)) as sandbox:
        batch = await sandbox.run_many(canonical_job(problem) for problem in problems)
    assert batch.isolation.strong, batch.isolation.summary()
    assert len(batch.verdicts) == len(problems) == 164
    wrong = [
        f"{problem['task_id']}: {verdict.status}: {verdict.detail[:300]}"
        for problem, verdict in zip(problems, batch.verdicts, strict=True)
        if verdict.status != "passed"
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.slow
@pytest.mark.anyio
async def test_no_empty_body_passes(problems: list[dict[str, Any]], uid_base: int) -> None:
    async with Sandbox(SandboxLimits(**LIMITS, uid_base=uid_base)) as sandbox:
        batch = await sandbox.run_many(empty_body_job(problem) for problem in problems)
    assert len(batch.verdicts) == len(problems)
    passed = [
        problem["task_id"]
        for problem, verdict in zip(problems, batch.verdicts, strict=True)
        if verdict.passed
    ]
    assert not passed, f"a `pass` body was judged passed: {passed}"
    # A body that returns None is a wrong answer or makes the test (or a helper) raise.
    statuses = {verdict.status for verdict in batch.verdicts}
    assert statuses <= {"failed", "error"}, statuses
    assert all(verdict.detail for verdict in batch.verdicts)
