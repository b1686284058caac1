"""Connecting to the shared PostgreSQL database: the URL from the environment, one-line errors.

The connection string may hold a password: it is read from the environment variable the config
names and never put in a message (psycopg's own messages name the host and port, not the
password; an unparsable string is reported without quoting it).
"""

from __future__ import annotations

import os
from typing import Any, TypeAlias

import psycopg
from psycopg_pool import AsyncConnectionPool

from concept_distill.errors import ConfigError

Pool: TypeAlias = "AsyncConnectionPool[psycopg.AsyncConnection[dict[str, Any]]]"
"""A pool of autocommit connections returning rows as dicts (what LangGraph's saver needs)."""
CONNECT_TIMEOUT_S = 10.0


def database_url(url_env: str) -> str:
    """The connection string from the environment variable `url_env`.

    Raises:
        ConfigError: when the variable is unset or empty (the message names it, never a value).
    """
    url = os.environ.get(url_env, "").strip()
    if not url:
        raise ConfigError(
            f"storage.url_env: environment variable {url_env} is not set; it must hold the "
            "PostgreSQL connection string (postgresql://user:password@host:port/database)"
        )
    return url


async def connect(url: str, url_env: str) -> psycopg.AsyncConnection[Any]:
    """One autocommit connection, or a one-line `ConfigError` naming the variable, not the URL."""
    try:
        return await psycopg.AsyncConnection.connect(
            url, autocommit=True, connect_timeout=int(CONNECT_TIMEOUT_S)
        )
    except psycopg.ProgrammingError:
        # Its message quotes the string, which may hold a password.
        raise ConfigError(
            f"storage: ${url_env} is not a PostgreSQL connection string "
            "(postgresql://user:password@host:port/database)"
        ) from None
    except (psycopg.Error, OSError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise ConfigError(f"storage: cannot connect to ${url_env}: {reason}") from None
