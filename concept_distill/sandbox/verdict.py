"""The sandbox's verdict, and how the two processes' reports become one.

The candidate side reports only how the process ended (decided by the monitor, not by the
program); the trusted test runner reports whether every assertion held. Resource verdicts win
over anything the tests saw, and only the test runner can say `passed`.
"""

from __future__ import annotations

import signal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

VerdictStatus = Literal["passed", "failed", "error", "timeout", "memory", "output_limit", "blocked"]
DETAIL_LIMIT = 2000


class Verdict(BaseModel):
    """What happened when a candidate program ran against its tests."""

    model_config = ConfigDict(frozen=True)

    status: VerdictStatus = Field(description="passed only when every test assertion held.")
    duration_s: float = Field(description="Wall-clock time of the whole run, in seconds.")
    detail: str = Field("", description="A short reason a teacher model can learn from.")

    @property
    def passed(self) -> bool:
        """True only for `passed`."""
        return self.status == "passed"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _trim(text: str) -> str:
    text = text.strip()
    return text if len(text) <= DETAIL_LIMIT else text[: DETAIL_LIMIT - 3] + "..."


def decide(
    candidate: dict[str, Any], tests: dict[str, Any], limits: dict[str, Any], duration_s: float
) -> Verdict:
    """Combine the monitor's report on the candidate with the test runner's report."""
    status, detail = _decide(candidate, tests, limits)
    return Verdict(status=status, duration_s=round(duration_s, 6), detail=_trim(detail))


def _decide(
    candidate: dict[str, Any], tests: dict[str, Any], limits: dict[str, Any]
) -> tuple[VerdictStatus, str]:
    killed, sig = candidate.get("killed"), candidate.get("signal")
    test_detail = str(tests.get("detail", ""))
    if killed == "timeout":
        return "timeout", f"the program exceeded the {limits['timeout_s']:g}s time limit"
    if killed == "output_limit" or candidate.get("output_bytes", 0) > limits["output_bytes"]:
        return "output_limit", f"the program wrote more than {limits['output_bytes']} bytes"
    if sig == signal.SIGXCPU:
        return "timeout", f"the program exceeded the {limits['cpu_s']}s CPU time limit"
    if sig == signal.SIGSYS:
        return "blocked", "the sandbox stopped a forbidden system call (the program was killed)"
    memory_hit = candidate.get("oom_killed") or _died_of_memory(candidate, limits)
    if tests.get("status") == "memory" or memory_hit:
        return (
            "memory",
            f"the program exceeded the {limits['memory_bytes'] >> 20} MB memory limit"
            + (f": {test_detail}" if test_detail else ""),
        )
    if sig is not None:
        tail = _output_tail(candidate)
        return "error", f"the program crashed: killed by {_signal_name(sig)}. {test_detail}{tail}"
    if "infrastructure" in candidate:
        return "error", f"sandbox failure: {candidate['infrastructure']}"
    status = tests.get("status")
    if status == "passed":
        return "passed", ""
    if status in ("failed", "error", "timeout"):
        tail = _output_tail(candidate) if status == "error" else ""
        return status, test_detail + tail
    return "error", f"the test runner gave no usable report: {test_detail}"


def _died_of_memory(candidate: dict[str, Any], limits: dict[str, Any]) -> bool:
    if candidate.get("signal") not in (
        signal.SIGKILL,
        signal.SIGSEGV,
        signal.SIGABRT,
        signal.SIGBUS,
    ):
        return False
    return int(candidate.get("max_rss_kb", 0)) * 1024 >= 0.9 * int(limits["memory_bytes"])


def _output_tail(candidate: dict[str, Any]) -> str:
    head = str(candidate.get("output_head", "")).strip()
    return f"\noutput: {head[-600:]}" if head else ""
