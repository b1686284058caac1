"""How the monitor's and the test runner's reports become one verdict (no sandbox needed)."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from concept_distill.sandbox import SandboxLimits
from concept_distill.sandbox.verdict import DETAIL_LIMIT, decide

LIMITS = SandboxLimits(timeout_s=2.0, memory_mb=256, output_kb=64).for_job()
PASSED = {"status": "passed", "detail": ""}


def ended(**report: Any) -> dict[str, Any]:
    """A monitor report: the program exited 0 on its own unless told otherwise."""
    base = {"killed": None, "exit_code": 0, "signal": None, "output_bytes": 0, "output_head": ""}
    base.update({"max_rss_kb": 20_000, "cpu_s": 0.1, "wall_s": 0.1})
    base.update(report)
    if report.get("signal") is not None:
        base["exit_code"] = None
    return base


def status(candidate: dict[str, Any], tests: dict[str, Any]) -> str:
    return decide(candidate, tests, LIMITS, 0.5).status


def test_only_the_test_runner_says_passed() -> None:
    assert status(ended(), PASSED) == "passed"
    assert decide(ended(), PASSED, LIMITS, 0.123456789).duration_s == pytest.approx(0.123457)


@pytest.mark.parametrize(
    "tests",
    [
        {},
        {"status": "PASSED"},
        {"status": "pass"},
        {"status": True},
        {"status": None},
        {"detail": "passed"},
        {"status": "unknown", "detail": "all good"},
    ],
    ids=repr,
)
def test_anything_else_from_the_test_runner_is_an_error(tests: dict[str, Any]) -> None:
    assert status(ended(), tests) == "error"


@pytest.mark.parametrize("reported", ["failed", "error", "timeout", "memory"])
def test_the_test_runners_other_statuses_carry_over(reported: str) -> None:
    verdict = decide(ended(), {"status": reported, "detail": "why"}, LIMITS, 0.5)
    assert verdict.status == reported
    assert "why" in verdict.detail


@pytest.mark.parametrize("code", [0, 1, 2, 70, 137, 255])
def test_the_programs_exit_code_never_decides(code: int) -> None:
    assert status(ended(exit_code=code), PASSED) == "passed"
    assert status(ended(exit_code=code), {"status": "failed", "detail": "x"}) == "failed"


def test_timeout_beats_a_pass() -> None:
    assert status(ended(killed="timeout", signal=signal.SIGKILL), PASSED) == "timeout"
    assert status(ended(killed="timeout"), PASSED) == "timeout"
    assert "2s" in decide(ended(killed="timeout"), PASSED, LIMITS, 2.1).detail


def test_cpu_limit_is_a_timeout() -> None:
    assert status(ended(signal=signal.SIGXCPU), PASSED) == "timeout"
    assert status(ended(signal=signal.SIGXCPU), {"status": "failed"}) == "timeout"


def test_output_limit_beats_a_pass() -> None:
    cap = LIMITS["output_bytes"]
    assert status(ended(killed="output_limit", signal=signal.SIGKILL), PASSED) == "output_limit"
    assert status(ended(output_bytes=cap + 1), PASSED) == "output_limit"
    assert status(ended(output_bytes=cap), PASSED) == "passed"


def test_a_forbidden_system_call_is_blocked() -> None:
    assert status(ended(signal=signal.SIGSYS), PASSED) == "blocked"
    assert status(ended(signal=signal.SIGSYS), {"status": "error"}) == "blocked"


def test_memory_from_the_test_runner() -> None:
    tests = {"status": "memory", "detail": "the program raised MemoryError"}
    verdict = decide(ended(exit_code=0), tests, LIMITS, 0.5)
    assert verdict.status == "memory"
    assert "256 MB" in verdict.detail and "MemoryError" in verdict.detail


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS])
def test_memory_from_a_signal_near_the_limit(sig: int) -> None:
    near = LIMITS["memory_bytes"] // 1024
    assert status(ended(signal=sig, max_rss_kb=near), PASSED) == "memory"
    assert status(ended(signal=sig, max_rss_kb=near), {"status": "error"}) == "memory"


@pytest.mark.parametrize(
    ("sig", "name"),
    [
        (signal.SIGSEGV, "SIGSEGV"),
        (signal.SIGKILL, "SIGKILL"),
        (signal.SIGABRT, "SIGABRT"),
        (signal.SIGFPE, "SIGFPE"),
        (signal.SIGILL, "SIGILL"),
        (signal.SIGTERM, "SIGTERM"),
    ],
)
def test_other_deaths_by_signal_are_errors(sig: int, name: str) -> None:
    candidate = ended(signal=sig, max_rss_kb=10_000, output_head="Fatal Python error")
    verdict = decide(candidate, PASSED, LIMITS, 0.5)
    assert verdict.status == "error"
    assert name in verdict.detail
    assert "Fatal Python error" in verdict.detail


def test_a_sandbox_failure_is_an_error_not_a_pass() -> None:
    candidate = {"infrastructure": "monitor failed: OSError"}
    verdict = decide(candidate, PASSED, LIMITS, 0.5)
    assert verdict.status == "error"
    assert "sandbox failure" in verdict.detail


def test_resource_verdicts_beat_each_other_in_order() -> None:
    """Time first, then output, then forbidden calls, then memory, then any other signal."""
    cap, near = LIMITS["output_bytes"], LIMITS["memory_bytes"] // 1024
    everything = ended(killed="timeout", output_bytes=cap + 1, signal=signal.SIGSYS)
    assert status(everything, {"status": "memory"}) == "timeout"
    assert status(ended(output_bytes=cap + 1, signal=signal.SIGSYS), PASSED) == "output_limit"
    assert status(ended(signal=signal.SIGSYS, max_rss_kb=near), {"status": "memory"}) == "blocked"


def test_the_detail_is_trimmed() -> None:
    verdict = decide(ended(), {"status": "failed", "detail": "x" * 10_000}, LIMITS, 0.5)
    assert len(verdict.detail) <= DETAIL_LIMIT
    verdict = decide(
        ended(signal=signal.SIGSEGV, output_head="y" * 10_000),
        {"status": "error", "detail": "z" * 10_000},
        LIMITS,
        0.5,
    )
    assert verdict.status == "error"
    assert len(verdict.detail) <= DETAIL_LIMIT
