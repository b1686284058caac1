"""`concept-distill models ...`: the local models' sub-app (defined in `concept_distill.local`)."""

from __future__ import annotations

from concept_distill.local.cli import app as models_app

MODELS_HELP = "Local models: fetch, build-server, serve, doctor."

__all__ = ["MODELS_HELP", "models_app"]
