"""Which failed attempts are worth retrying, and how long to wait before the next one.

This is the only retry logic on the model path: the OpenAI SDK is built with `max_retries=0`, so
attempt counts never multiply between layers.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from dataclasses import dataclass

import openai

RETRYABLE_STATUS = frozenset({408, 409, 425, 429})


@dataclass(frozen=True)
class AttemptFailure:
    """Why one HTTP attempt failed, and whether another attempt may succeed."""

    cause: str
    retryable: bool
    retry_after: float | None = None


def classify(error: Exception, *, timeout_s: float) -> AttemptFailure | None:
    """Describe a failed attempt, or return None when `error` is not a model failure (a bug).

    Args:
        error: what the attempt raised.
        timeout_s: the per-attempt limit, named in the cause of a timeout.
    """
    if isinstance(error, openai.APITimeoutError | TimeoutError):
        return AttemptFailure(f"timed out after {timeout_s:g}s", retryable=True)
    if isinstance(error, openai.APIConnectionError):
        return AttemptFailure(f"connection failed ({error.message})", retryable=True)
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        retryable = status in RETRYABLE_STATUS or status >= 500
        retry_after = parse_retry_after(error.response.headers.get("retry-after"))
        return AttemptFailure(f"HTTP {status}: {_short(error.message)}", retryable, retry_after)
    if isinstance(error, json.JSONDecodeError):
        return AttemptFailure(f"malformed JSON in the reply ({error.msg})", retryable=True)
    if isinstance(error, openai.APIResponseValidationError | ValueError | KeyError | TypeError):
        # Messages are validated before the call, so these come from an unusable reply body.
        return AttemptFailure(
            f"unusable reply ({type(error).__name__}: {_short(str(error))})", False
        )
    return None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date), if valid."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - time.time()
    return max(0.0, seconds)


def backoff_delay(
    retry: int,
    *,
    initial_s: float,
    max_wait_s: float,
    retry_after: float | None,
    rng: random.Random,
) -> float | None:
    """How long to sleep before retry number `retry` (0-based); None means do not retry.

    Without a `Retry-After`, the delay is "full jitter" exponential backoff: uniform in
    [0, min(max_wait_s, initial_s * 2**retry)], which spreads out clients that failed together.
    With one, the server's wait is honoured, plus up to 10% jitter so that clients told the same
    moment do not return in lockstep; a wait longer than `max_wait_s` returns None.
    """
    if retry_after is not None:
        if retry_after > max_wait_s:
            return None
        return retry_after * (1.0 + 0.1 * rng.random())
    ceiling = min(max_wait_s, initial_s * (2.0**retry))
    return rng.uniform(0.0, ceiling)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
