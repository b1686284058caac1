"""Config files for tests that run the CLI or a graph server: written once here, not per file.

The built-in math tasks read the data shipped in the package, so no config names a data path.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

CLI = [sys.executable, "-m", "concept_distill.cli"]
"""The `concept-distill` command, run with this interpreter."""


def fake_role(base_url: str, model: str, **settings: Any) -> dict[str, Any]:
    """A role served by a fake OpenAI-compatible server: no retries, so a fault shows at once."""
    return {"base_url": base_url, "model": model, "max_retries": 0, **settings}


def write_config(
    directory: Path, *, task: str = "multiarith", name: str = "config.yaml", **sections: Any
) -> Path:
    """Write `{"task": {"name": task}, **sections}` as YAML in `directory`; returns its path."""
    path = directory / name
    path.write_text(yaml.safe_dump({"task": {"name": task}, **sections}))
    return path
