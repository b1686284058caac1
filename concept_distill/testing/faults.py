"""`FaultInjector`: a reply function that makes a share of requests fault, reproducibly.

Wrap the fake server's reply function with it to prove that the model layer survives what real
endpoints and proxies do under load: 429 with and without `Retry-After`, 500/502/503, connection
resets, read time-outs, truncated or non-JSON bodies and replies without choices. Whether a
request faults depends only on the seed, the request body and how many times that body was seen,
never on arrival order, so concurrent runs fault the same way; and one request faults at most
`max_per_request` times in a row, so a client with more retries than that always gets its reply
and a run ends exactly as a fault-free one, with more requests.
"""

from __future__ import annotations

import hashlib
import inspect
import random
from collections import Counter
from collections.abc import Sequence

from concept_distill.testing.actions import (
    Action,
    EmptyChoices,
    Fail,
    Hang,
    Malformed,
    RecordedRequest,
    Reply,
    ReplyFunction,
    Reset,
)

DEFAULT_FAULTS: tuple[Action, ...] = (
    Fail(429, retry_after=0.05, message="rate limited (with Retry-After)"),
    Fail(429, message="rate limited"),
    Fail(500),
    Fail(502, message="bad gateway"),
    Fail(503, message="overloaded"),
    Reset(),
    Hang(30.0),
    Malformed(),
    Malformed("<html><body>502 Bad Gateway</body></html>"),
    EmptyChoices(),
)
"""One of each fault; `Hang` needs the client's `timeout_s` well under 30 s."""


def fault_name(action: Action) -> str:
    """A short name for a fault, e.g. `429+retry-after`, `reset`, `empty-choices`."""
    if isinstance(action, Fail):
        return f"{action.status}" + ("+retry-after" if action.retry_after is not None else "")
    if isinstance(action, Malformed):
        return "truncated-json" if action.body.lstrip().startswith("{") else "non-json"
    return {Reset: "reset", Hang: "hang", EmptyChoices: "empty-choices"}.get(
        type(action), type(action).__name__
    )


class FaultInjector:
    """Faults `rate` of requests with a fault from `faults`; otherwise `reply` answers.

    `injected` counts the faults sent by name, `answered` the requests passed to `reply`.
    """

    def __init__(
        self,
        reply: ReplyFunction | None = None,
        *,
        rate: float = 0.2,
        seed: int = 0,
        faults: Sequence[Action] = DEFAULT_FAULTS,
        max_per_request: int = 2,
    ) -> None:
        """Configure the faults.

        Args:
            reply: answers the requests that do not fault; None answers "ok".
            rate: share of requests that fault, 0 to 1.
            seed: with the request body, decides which requests fault and how.
            faults: the menu, drawn from uniformly.
            max_per_request: most faults in a row for one request body (keep it under the
                client's `max_retries`, so no call fails for good).
        """
        if not 0 <= rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        self._reply = reply
        self.rate = rate
        self.seed = seed
        self.faults = tuple(faults)
        self.max_per_request = max_per_request
        self.injected: Counter[str] = Counter()
        self.answered = 0
        self._seen: Counter[str] = Counter()
        self._streak: Counter[str] = Counter()

    async def __call__(self, request: RecordedRequest) -> Action | str:
        """The action for one request."""
        body = hashlib.sha256(request.body.encode()).hexdigest()
        self._seen[body] += 1
        draw = random.Random(f"{self.seed}:{body}:{self._seen[body]}")
        if self._streak[body] < self.max_per_request and draw.random() < self.rate:
            self._streak[body] += 1
            fault = draw.choice(self.faults)
            self.injected[fault_name(fault)] += 1
            return fault
        self._streak[body] = 0
        self.answered += 1
        if self._reply is None:
            return Reply()
        produced = self._reply(request)
        return await produced if inspect.isawaitable(produced) else produced
