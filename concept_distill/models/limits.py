"""Per-endpoint limits: requests in flight, requests per second, and a pause after `Retry-After`.

Limits belong to the endpoint, not the role: a student and a teacher served by the same
llama-server compete for the same slots, so they share one `EndpointLimits`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from langchain_core.rate_limiters import InMemoryRateLimiter

from concept_distill.models.config import ModelConfig
from concept_distill.models.redact import display_endpoint


class EndpointLimits:
    """Gate for every HTTP attempt to one endpoint.

    An attempt first waits out any pause a 429 asked for, then takes a concurrency slot (and
    checks the pause again: it may have started while the attempt queued), then a rate token (so
    the rate holds at the moment requests are sent), and keeps the slot until the attempt ends.
    Backoff sleeps happen outside the slot.
    """

    def __init__(self, *, max_concurrency: int, requests_per_second: float | None = None) -> None:
        self.capacity = anyio.CapacityLimiter(max_concurrency)
        self.rate: InMemoryRateLimiter | None = None
        if requests_per_second is not None:
            self.rate = _rate_limiter(requests_per_second)
        self._resume_at = 0.0

    def tighten(self, *, max_concurrency: int, requests_per_second: float | None) -> None:
        """Apply a second role's settings: the smaller concurrency and rate win."""
        self.capacity.total_tokens = min(int(self.capacity.total_tokens), max_concurrency)
        if requests_per_second is None:
            return
        if self.rate is None or requests_per_second < self.rate.requests_per_second:
            self.rate = _rate_limiter(requests_per_second)

    def pause_for(self, seconds: float) -> None:
        """Hold back new attempts for `seconds` (the endpoint said it is overloaded)."""
        self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for any pause, a concurrency slot and a rate token; hold the slot inside."""
        await self._wait_out_pause()
        async with self.capacity:
            # A 429 may have arrived while this task queued for the slot.
            await self._wait_out_pause()
            if self.rate is not None:
                await self.rate.aacquire()
            yield

    async def _wait_out_pause(self) -> None:
        # A loop, not one sleep: another 429 may extend the pause while this task sleeps.
        pause = self._resume_at - time.monotonic()
        while pause > 0:
            await anyio.sleep(pause)
            pause = self._resume_at - time.monotonic()


class LimitsRegistry:
    """One `EndpointLimits` per endpoint, created on first use and shared by later roles."""

    def __init__(self) -> None:
        self._by_endpoint: dict[str, EndpointLimits] = {}

    def for_config(self, config: ModelConfig) -> EndpointLimits:
        """The limits of `config.base_url`, tightened by this config's settings."""
        endpoint = display_endpoint(config.base_url)
        limits = self._by_endpoint.get(endpoint)
        if limits is None:
            limits = EndpointLimits(
                max_concurrency=config.max_concurrency,
                requests_per_second=config.requests_per_second,
            )
            self._by_endpoint[endpoint] = limits
        else:
            limits.tighten(
                max_concurrency=config.max_concurrency,
                requests_per_second=config.requests_per_second,
            )
        return limits


def _rate_limiter(requests_per_second: float) -> InMemoryRateLimiter:
    # Poll often enough that the wait overshoots by at most ~10% of the interval.
    check_every = min(0.05, 0.1 / requests_per_second)
    return InMemoryRateLimiter(
        requests_per_second=requests_per_second,
        check_every_n_seconds=check_every,
        max_bucket_size=1,
    )
