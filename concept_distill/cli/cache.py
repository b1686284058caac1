"""`concept-distill cache info|clear`: the response cache of a config."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

cache_app = typer.Typer(
    help="Manage the response cache.", no_args_is_help=True, rich_markup_mode=None
)


def _cache_path(config_path: Path) -> Path:
    from concept_distill.config import load_config

    return load_config(config_path).response_cache()


@cache_app.command("info")
def cache_info(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG")],
) -> None:
    """Where the cache is, how many replies it holds, and its size."""
    import sqlite3

    from rich.console import Console

    path = _cache_path(config_path)
    if not path.exists():
        Console().print(f"{path}: no cache yet", soft_wrap=True)
        return
    with sqlite3.connect(path) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM responses").fetchone()
    Console().print(
        f"{path}: {count} cached replies, {path.stat().st_size / 1e6:.1f} MB", soft_wrap=True
    )


@cache_app.command("clear")
def cache_clear(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG")],
) -> None:
    """Delete the response cache."""
    from rich.console import Console

    path = _cache_path(config_path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    Console().print(f"{path}: cleared", soft_wrap=True)
