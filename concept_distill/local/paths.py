"""Where the embedded default keeps its files: one cache root, shared by models and the server.

Model files and the built `llama-server` are large and slow to make, so they live outside the
checkout in the user's cache (XDG convention) and survive `make clean` and new virtualenvs.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "CONCEPT_DISTILL_CACHE_DIR"
"""Environment variable that overrides the cache root (CI caches and tests point it elsewhere)."""


def default_cache_dir() -> Path:
    """Return the cache root: `$CONCEPT_DISTILL_CACHE_DIR`, else `$XDG_CACHE_HOME/concept-distill`.

    Falls back to `~/.cache/concept-distill` when `XDG_CACHE_HOME` is unset or empty, as the XDG
    base-directory spec says.
    """
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "concept-distill"


def resolve_cache_dir(cache_dir: Path | str | None) -> Path:
    """Return `cache_dir` as a `Path`, or the default root when it is None."""
    return Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()


def models_dir(cache_dir: Path | str | None = None) -> Path:
    """Return the directory holding assembled, verified model files."""
    return resolve_cache_dir(cache_dir) / "models"


def server_dir(cache_dir: Path | str | None = None) -> Path:
    """Return the directory holding built `llama-server` binaries, one subdirectory per version."""
    return resolve_cache_dir(cache_dir) / "llama-server"
