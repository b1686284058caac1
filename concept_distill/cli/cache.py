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
    from rich.console import Console

    from concept_distill.models.cache import cache_stats

    path = _cache_path(config_path)
    stats = cache_stats(path)
    if stats is None:
        Console().print(f"{path}: no cache yet", soft_wrap=True)
        return
    Console().print(
        f"{path}: {stats.replies} cached replies, {stats.size_bytes / 1e6:.1f} MB", soft_wrap=True
    )


@cache_app.command("clear")
def cache_clear(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG")],
) -> None:
    """Delete the response cache (only a response cache: any other file is refused)."""
    from rich.console import Console

    from concept_distill.models.cache import clear_cache

    path = _cache_path(config_path)
    cleared = clear_cache(path)
    Console().print(f"{path}: {'cleared' if cleared else 'no cache yet'}", soft_wrap=True)
