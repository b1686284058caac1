"""Concept Distillation: rules induced by a strong teacher make a weak student better."""

from concept_distill.config import Config, load_config
from concept_distill.distill import DistillResult, distill, distill_sync
from concept_distill.errors import ConceptDistillError, ConfigError, ModelError, SandboxUnavailable
from concept_distill.graph import build_graph
from concept_distill.records import Attempt, Example, ExampleResult, Judgement, Rule
from concept_distill.sandbox import Verdict

__all__ = [
    "Attempt",
    "ConceptDistillError",
    "Config",
    "ConfigError",
    "DistillResult",
    "Example",
    "ExampleResult",
    "Judgement",
    "ModelError",
    "Rule",
    "SandboxUnavailable",
    "Verdict",
    "build_graph",
    "distill",
    "distill_sync",
    "load_config",
]
__version__ = "0.1.0"
