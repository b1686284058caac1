"""Concept Distillation: rules induced by a strong teacher make a weak student better."""

from concept_distill.errors import ConceptDistillError, ConfigError, ModelError, SandboxUnavailable

__all__ = ["ConceptDistillError", "ConfigError", "ModelError", "SandboxUnavailable"]
__version__ = "0.1.0"
