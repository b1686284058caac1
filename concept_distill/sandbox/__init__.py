"""The code sandbox: candidate programs run isolated; trusted code decides every pass."""

from concept_distill.sandbox.isolation import IsolationReport, Layer
from concept_distill.sandbox.limits import SandboxLimits
from concept_distill.sandbox.supervisor import Sandbox, SandboxJob, VerdictBatch
from concept_distill.sandbox.verdict import Verdict, VerdictStatus

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
