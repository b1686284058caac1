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


def _in_database(config_path: Path, clear: bool) -> bool:
    """With `storage.backend: postgres`, show (or clear) the database's cache; False otherwise."""
    import anyio
    from rich.console import Console

    from concept_distill.config import load_config
    from concept_distill.storage.pg_cache import cached_replies
    from concept_distill.storage.pg_connect import database_url

    storage = load_config(config_path).storage
    if storage.backend != "postgres":
        return False
    env = storage.url_env
    url = database_url(env)
    count = anyio.run(lambda: cached_replies(url, url_env=env, clear=clear))
    done = f"cleared {count} cached replies" if clear else f"{count} cached replies"
    Console().print(f"PostgreSQL at ${env}: {done}", soft_wrap=True)
    return True


@cache_app.command("info")
def cache_info(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG")],
) -> None:
    """Where the cache is, how many replies it holds, and its size."""
    from rich.console import Console

    from concept_distill.models.cache import cache_stats

    if _in_database(config_path, clear=False):
        return
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

    if _in_database(config_path, clear=True):
        return
    path = _cache_path(config_path)
    cleared = clear_cache(path)
    Console().print(f"{path}: {'cleared' if cleared else 'no cache yet'}", soft_wrap=True)
