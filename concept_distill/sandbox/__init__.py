"""The code sandbox: candidate programs run isolated; trusted code decides every pass.

Public names are imported on first use (PEP 562), so `concept-distill --help` and the command
registration never load the supervisor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from concept_distill._lazy import lazy_getattr

if TYPE_CHECKING:
    from concept_distill.sandbox.isolation import IsolationReport, Layer
    from concept_distill.sandbox.limits import SandboxLimits
    from concept_distill.sandbox.supervisor import Sandbox, SandboxJob, VerdictBatch
    from concept_distill.sandbox.verdict import Verdict, VerdictStatus

_EXPORTS: dict[str, str] = {
    "IsolationReport": "isolation",
    "Layer": "isolation",
    "SandboxLimits": "limits",
    "Sandbox": "supervisor",
    "SandboxJob": "supervisor",
    "VerdictBatch": "supervisor",
    "Verdict": "verdict",
    "VerdictStatus": "verdict",
}

__all__ = [
    "IsolationReport",
    "Layer",
    "Sandbox",
    "SandboxJob",
    "SandboxLimits",
    "Verdict",
    "VerdictBatch",
    "VerdictStatus",
]


__getattr__ = lazy_getattr(__name__, _EXPORTS)
