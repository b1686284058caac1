"""What several commands share: loading a config the way a user expects from a command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concept_distill.config import Config


def scorer_search_path(config_path: Path) -> None:
    """Let `module:function` scorers be found beside the config and in the working directory.

    A console script's `sys.path` holds neither (unlike `python -c`), so a `toy_scorer.py` next to
    the config would fail to import. Both are appended, never prepended: they cannot shadow an
    installed package.
    """
    for directory in (config_path.resolve().parent, Path.cwd().resolve()):
        entry = str(directory)
        if entry not in sys.path:
            sys.path.append(entry)


def load_cli_config(path: Path, overrides: list[str] | None) -> Config:
    """The validated config, with the scorer search path set up first."""
    from concept_distill.config import load_config

    scorer_search_path(path)
    return load_config(path, overrides or [])
