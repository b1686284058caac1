"""The Concept Distillation graph: a LangGraph state machine over student, teacher, verifier."""

from concept_distill.graph.builder import build_graph
from concept_distill.graph.state import DistillInput, DistillOutput, DistillState

__all__ = ["DistillInput", "DistillOutput", "DistillState", "build_graph"]
