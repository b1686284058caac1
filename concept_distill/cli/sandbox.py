"""`concept-distill sandbox`: judge programs in the sandbox (defined in `sandbox.cli`)."""

from __future__ import annotations

from concept_distill.sandbox.cli import sandbox_command

__all__ = ["sandbox_command"]
