"""Keep secrets and credentials out of anything this layer prints, logs or raises."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def display_endpoint(base_url: str) -> str:
    """The endpoint as safe to show: scheme, host, port and path, without user info or query.

    A base URL may carry credentials (`https://user:token@host/v1`) or a key in its query string;
    error messages and logs name the endpoint through this function only.
    """
    parts = urlsplit(base_url.rstrip("/"))
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """Replace every occurrence of each (non-trivial) secret in `text` with `***`."""
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text
