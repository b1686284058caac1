"""Token and time accounting per role: what each role cost, with cache hits kept apart.

A cache hit reports the usage of the call it replays; counting it as spent would overstate the
bill of a re-run, so cached tokens are summed separately and never priced.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field


class Spend(BaseModel):
    """What one role has used so far; paid figures exclude cache hits."""

    model_config = ConfigDict(frozen=True)

    role: str = Field(description="Role name (student, teacher, ...).")
    model: str = Field(default="", description="Model id the role calls.")
    calls: int = Field(default=0, description="Successful calls that reached the endpoint.")
    cached_calls: int = Field(default=0, description="Calls answered from the response cache.")
    failed_calls: int = Field(default=0, description="Calls that ended in ModelError.")
    retries: int = Field(default=0, description="Extra HTTP attempts made after failures.")
    calls_without_usage: int = Field(
        default=0, description="Replies whose model reported no token usage (counted as 0)."
    )
    prompt_tokens: int = Field(default=0, description="Prompt tokens of paid calls.")
    completion_tokens: int = Field(default=0, description="Completion tokens of paid calls.")
    cached_prompt_tokens: int = Field(default=0, description="Prompt tokens replayed from cache.")
    cached_completion_tokens: int = Field(
        default=0, description="Completion tokens replayed from cache."
    )
    call_seconds: float = Field(default=0.0, description="Sum of call durations (overlaps add).")
    wall_seconds: float = Field(
        default=0.0, description="From the first call's start to the last call's end."
    )
    cost_usd: float | None = Field(
        default=None, description="Price of paid tokens; None when the config gives no prices."
    )

    def summary(self) -> str:
        """One human-readable line, e.g. for a progress log."""
        cost = "" if self.cost_usd is None else f", ${self.cost_usd:.4f}"
        return (
            f"{self.role}: {self.calls} calls ({self.cached_calls} cached, {self.failed_calls} "
            f"failed, {self.retries} retries), {self.prompt_tokens}+{self.completion_tokens} "
            f"tokens paid, {self.cached_prompt_tokens}+{self.cached_completion_tokens} cached, "
            f"{self.wall_seconds:.1f}s wall{cost}"
        )


class SpendReport(BaseModel):
    """Spend of every role in a run; `model_dump_json()` is what a run directory saves."""

    model_config = ConfigDict(frozen=True)

    roles: dict[str, Spend] = Field(default_factory=dict, description="Spend by role name.")

    @property
    def total_cost_usd(self) -> float | None:
        """Summed cost of the roles that have prices; None when none has."""
        costs = [spend.cost_usd for spend in self.roles.values() if spend.cost_usd is not None]
        return sum(costs) if costs else None

    def render(self) -> str:
        """A few lines for a terminal: one per role, then the total cost if known."""
        lines = [spend.summary() for spend in self.roles.values()]
        if self.total_cost_usd is not None:
            lines.append(f"total: ${self.total_cost_usd:.4f}")
        return "\n".join(lines)


class SpendMeter:
    """Accumulates one role's spend; `snapshot()` returns the immutable record.

    Only the event loop thread touches a meter, so plain attribute updates need no lock.
    """

    def __init__(
        self,
        role: str,
        *,
        model: str = "",
        input_price_per_mtok: float | None = None,
        output_price_per_mtok: float | None = None,
    ) -> None:
        self._spend = Spend(role=role, model=model)
        self._counts: dict[str, int] = {}
        self._call_seconds = 0.0
        self._prices = (input_price_per_mtok, output_price_per_mtok)
        self._first_start: float | None = None
        self._last_end: float | None = None

    def paid(self, *, prompt: int, completion: int, started: float, retries: int) -> None:
        """Record a successful call that reached the endpoint (`started` is `time.monotonic()`)."""
        self._add(calls=1, prompt_tokens=prompt, completion_tokens=completion, retries=retries)
        self._timed(started)

    def cached(self, *, prompt: int, completion: int, started: float) -> None:
        """Record a call answered from the cache."""
        self._add(cached_calls=1, cached_prompt_tokens=prompt, cached_completion_tokens=completion)
        self._timed(started)

    def failed(self, *, started: float, retries: int) -> None:
        """Record a call that ended in ModelError."""
        self._add(failed_calls=1, retries=retries)
        self._timed(started)

    def snapshot(self) -> Spend:
        """The spend so far, with cost computed from the configured prices."""
        counts = dict(self._counts)
        span = 0.0
        if self._first_start is not None and self._last_end is not None:
            span = self._last_end - self._first_start
        return self._spend.model_copy(
            update={
                **counts,
                "call_seconds": self._call_seconds,
                "wall_seconds": span,
                "cost_usd": self._cost(counts),
            }
        )

    def _add(self, **amounts: int) -> None:
        for name, amount in amounts.items():
            self._counts[name] = self._counts.get(name, 0) + amount

    def _timed(self, started: float) -> None:
        now = time.monotonic()
        self._call_seconds += now - started
        if self._first_start is None or started < self._first_start:
            self._first_start = started
        self._last_end = now if self._last_end is None else max(self._last_end, now)

    def _cost(self, counts: Mapping[str, int]) -> float | None:
        input_price, output_price = self._prices
        if input_price is None and output_price is None:
            return None
        prompt = counts.get("prompt_tokens", 0) * (input_price or 0.0)
        completion = counts.get("completion_tokens", 0) * (output_price or 0.0)
        return (prompt + completion) / 1_000_000
