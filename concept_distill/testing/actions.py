"""What the fake server can be scripted to do, and what it records of each request."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reply:
    """A normal chat completion; token counts default to whitespace word counts."""

    content: str = "ok"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = "stop"
    delay_s: float = 0.0


@dataclass(frozen=True)
class Fail:
    """An HTTP error status, optionally with a `Retry-After` header (seconds)."""

    status: int = 500
    retry_after: float | None = None
    message: str = "injected failure"


@dataclass(frozen=True)
class Hang:
    """Answer nothing for `seconds` (the client's timeout should fire first), then fail 504."""

    seconds: float = 30.0


@dataclass(frozen=True)
class Malformed:
    """A 200 reply whose body is not the JSON it claims to be."""

    body: str = '{"id": "x", "choices": [{"message": '


@dataclass(frozen=True)
class Reset:
    """Drop the connection without a reply (a TCP reset, as from a crashed proxy)."""


@dataclass(frozen=True)
class EmptyChoices:
    """A 200 reply that is valid JSON but has no choices (`"choices": []`), as some proxies send."""


Action = Reply | Fail | Hang | Malformed | Reset | EmptyChoices
"""One scripted server behaviour; a bare `str` in a script means `Reply(content=str)`."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: str
    received_at: float

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


ReplyFunction = Callable[[RecordedRequest], "Action | str | Awaitable[Action | str]"]
