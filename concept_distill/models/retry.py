"""Which failed attempts are worth retrying, and how long to wait before the next one.

This is the only retry logic on the model path: the OpenAI SDK is built with `max_retries=0`, so
attempt counts never multiply between layers.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
import openai

from concept_distill.models.config import ModelConfig
from concept_distill.models.limits import EndpointLimits

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
FATAL_STATUS = frozenset({401, 403, 404})
"""A refused key or an unknown model (or path) will not change for the rest of the run."""


@dataclass(frozen=True)
class AttemptFailure:
    """Why one HTTP attempt failed, and whether another attempt may succeed."""

    cause: str
    retryable: bool
    retry_after: float | None = None
    status: int | None = None
    fatal: bool = False
    """The endpoint cannot serve this run at all (401/403/404): stop it, do not retry."""
    endpoint_fault: bool = False
    """The endpoint is down rather than this request bad or the endpoint busy: the connection
    failed, the attempt timed out, or a 5xx came back."""


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, how long each may take, and how long to wait in between."""

    max_retries: int
    timeout_s: float
    initial_s: float
    max_wait_s: float

    @classmethod
    def from_config(cls, config: ModelConfig) -> RetryPolicy:
        """The policy a role's config asks for."""
        return cls(
            max_retries=config.max_retries,
            timeout_s=config.timeout_s,
            initial_s=config.retry_backoff_s,
            max_wait_s=config.max_retry_wait_s,
        )


class RetriesExhausted(Exception):
    """No further attempt will be made; `__cause__` is the last attempt's error."""

    def __init__(self, failure: AttemptFailure, retries: int, *, wait_refused: bool) -> None:
        super().__init__(failure.cause)
        self.failure = failure
        self.retries = retries
        self.wait_refused = wait_refused


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    limits: EndpointLimits,
    rng: random.Random,
    on_retry: Callable[[AttemptFailure, int, float], None] | None = None,
) -> tuple[T, int]:
    """Run `attempt` under the endpoint's limits until it succeeds; return it and the retry count.

    Each attempt holds a concurrency slot and has a hard `timeout_s`; waits happen outside the
    slot. A `Retry-After` also pauses the endpoint's other callers. `on_retry(failure, attempt,
    delay)` hears of every failed attempt that will be tried again (for the run log).

    Raises:
        RetriesExhausted: on a failure that is not retryable, after the last retry, or when the
            server asks for a longer wait than `max_wait_s`.
    """
    retries = 0
    while True:
        try:
            async with limits.slot():
                with anyio.fail_after(policy.timeout_s):
                    return await attempt(), retries
        except Exception as error:
            failure = classify(error, timeout_s=policy.timeout_s)
            if failure is None:
                raise
            if not failure.retryable or retries >= policy.max_retries:
                raise RetriesExhausted(failure, retries, wait_refused=False) from error
            delay = backoff_delay(
                retries,
                initial_s=policy.initial_s,
                max_wait_s=policy.max_wait_s,
                retry_after=failure.retry_after,
                rng=rng,
            )
            if delay is None:
                raise RetriesExhausted(failure, retries, wait_refused=True) from error
        if on_retry is not None:
            on_retry(failure, retries + 1, delay)
        if failure.retry_after is not None:
            limits.pause_for(failure.retry_after)
        await anyio.sleep(delay)
        retries += 1


def classify(error: Exception, *, timeout_s: float) -> AttemptFailure | None:
    """Describe a failed attempt, or return None when `error` is not a model failure (a bug).

    Args:
        error: what the attempt raised.
        timeout_s: the per-attempt limit, named in the cause of a timeout.
    """
    if isinstance(error, openai.APITimeoutError | TimeoutError):
        return AttemptFailure(
            f"timed out after {timeout_s:g}s", retryable=True, endpoint_fault=True
        )
    if isinstance(error, openai.APIConnectionError):
        return AttemptFailure(
            f"connection failed ({error.message})", retryable=True, endpoint_fault=True
        )
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        retryable = status in RETRYABLE_STATUS or status >= 500
        retry_after = parse_retry_after(error.response.headers.get("retry-after"))
        return AttemptFailure(
            f"HTTP {status}: {_short(error.message)}",
            retryable,
            retry_after,
            status=status,
            fatal=status in FATAL_STATUS,
            endpoint_fault=status >= 500,
        )
    if isinstance(error, json.JSONDecodeError):
        return AttemptFailure(f"malformed JSON in the reply ({error.msg})", retryable=True)
    if isinstance(error, openai.APIResponseValidationError | ValueError | LookupError | TypeError):
        # Messages are validated before the call, so these come from an unusable reply body
        # (empty or null `choices`, a list for an object): a proxy's glitch worth another try.
        return AttemptFailure(
            f"unusable reply ({type(error).__name__}: {_short(str(error))})", retryable=True
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
