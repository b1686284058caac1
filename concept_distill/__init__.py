"""Concept Distillation: rules induced by a strong teacher make a weak student better.

`import concept_distill` loads nothing heavy: each public name is imported from its module the
first time it is used (PEP 562 `__getattr__`), so the command line starts in a blink and a
program that only reads a config never imports LangGraph or an HTTP client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from concept_distill._lazy import lazy_getattr

if TYPE_CHECKING:
    from concept_distill.agents.contracts import Student, Teacher, Verifier
    from concept_distill.config import Config, load_config
    from concept_distill.distillation import DistillResult, distill, distill_sync
    from concept_distill.errors import (
        ConceptDistillError,
        ConfigError,
        ModelError,
        SandboxUnavailable,
    )
    from concept_distill.events import Event, parse_event
    from concept_distill.graph import build_graph
    from concept_distill.graph.resources import ChatModelRole, RunResources
    from concept_distill.graph.scope import DistillContext
    from concept_distill.records import (
        Attempt,
        Example,
        ExampleResult,
        IterationRecord,
        Judgement,
        Rule,
        RunMetrics,
    )
    from concept_distill.report.prompt import load_optimized_prompt
    from concept_distill.sandbox import Verdict

# Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    "Attempt": "concept_distill.records",
    "ChatModelRole": "concept_distill.graph.resources",
    "ConceptDistillError": "concept_distill.errors",
    "Config": "concept_distill.config",
    "ConfigError": "concept_distill.errors",
    "DistillContext": "concept_distill.graph.scope",
    "DistillResult": "concept_distill.distillation",
    "Event": "concept_distill.events",
    "Example": "concept_distill.records",
    "ExampleResult": "concept_distill.records",
    "IterationRecord": "concept_distill.records",
    "Judgement": "concept_distill.records",
    "ModelError": "concept_distill.errors",
    "Rule": "concept_distill.records",
    "RunMetrics": "concept_distill.records",
    "RunResources": "concept_distill.graph.resources",
    "SandboxUnavailable": "concept_distill.errors",
    "Student": "concept_distill.agents.contracts",
    "Teacher": "concept_distill.agents.contracts",
    "Verdict": "concept_distill.sandbox",
    "Verifier": "concept_distill.agents.contracts",
    "build_graph": "concept_distill.graph",
    "distill": "concept_distill.distillation",
    "distill_sync": "concept_distill.distillation",
    "load_config": "concept_distill.config",
    "load_optimized_prompt": "concept_distill.report.prompt",
    "parse_event": "concept_distill.events",
}

__all__ = [
    "Attempt",
    "ChatModelRole",
    "ConceptDistillError",
    "Config",
    "ConfigError",
    "DistillContext",
    "DistillResult",
    "Event",
    "Example",
    "ExampleResult",
    "IterationRecord",
    "Judgement",
    "ModelError",
    "Rule",
    "RunMetrics",
    "RunResources",
    "SandboxUnavailable",
    "Student",
    "Teacher",
    "Verdict",
    "Verifier",
    "build_graph",
    "distill",
    "distill_sync",
    "load_config",
    "load_optimized_prompt",
    "parse_event",
]
__version__ = "0.1.0"


__getattr__ = lazy_getattr(__name__, _EXPORTS)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
