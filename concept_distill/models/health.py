"""The per-role circuit breaker: when a role's endpoint is down, the run stops instead of idling.

One failed call is data (the student records it as `Attempt.error`, the teacher as a failed
proposal). The endpoint cannot serve the run when it refused the key or the model (401/403/404),
when its very first call failed through all its retries with an endpoint fault (unreachable,
time-outs, 5xx: it has not answered once, and a role that makes few calls, like the teacher,
would never reach a count), or when `max_consecutive_failures` calls in a row failed after their
retries. Every later call would fail too and the run would finish with a report of nothing, so the
breaker opens and raises `ModelUnavailable`, which agents do not catch. Once open it stays open:
no further call is paid.
"""

from __future__ import annotations

from concept_distill.errors import ModelError, ModelUnavailable


class RoleHealth:
    """Counts one role's consecutive failed calls (a success resets the count)."""

    def __init__(self, role: str, endpoint: str, *, max_consecutive_failures: int) -> None:
        """Start closed.

        Args:
            role: the role, named in the error.
            endpoint: the endpoint as safe to show (no credentials), named in the error.
            max_consecutive_failures: failed calls in a row that open the breaker.
        """
        self.role = role
        self.endpoint = endpoint
        self.max_consecutive_failures = max_consecutive_failures
        self.consecutive_failures = 0
        self.answered = False
        self._open: ModelUnavailable | None = None

    def check(self) -> None:
        """Raise the breaker's error if it is open (before a call is made)."""
        if self._open is not None:
            raise ModelUnavailable(str(self._open), role=self.role, endpoint=self.endpoint)

    def succeeded(self) -> None:
        """A call got a reply; the endpoint works."""
        self.consecutive_failures = 0
        self.answered = True

    def failed(
        self, error: ModelError, *, fatal: bool, endpoint_fault: bool = False
    ) -> ModelError | ModelUnavailable:
        """Record a call that failed after its retries; return what the caller should raise.

        Args:
            error: the call's error, naming role, endpoint and last cause.
            fatal: the endpoint refused the key or the model: open at once.
            endpoint_fault: the last cause was the endpoint's (unreachable, time-out, 5xx), not
                this request's (a 400, an unusable body) nor a busy endpoint's (429): open if the
                endpoint never answered.

        Returns:
            `error` itself while the failures may still be one example's bad luck, else the
            breaker's `ModelUnavailable` (which stays open).
        """
        self.consecutive_failures += 1
        if fatal:
            reason = "stopping the run: this will not change by retrying"
        elif endpoint_fault and not self.answered:
            reason = "stopping the run: the endpoint has not answered a single call"
        elif self.consecutive_failures >= self.max_consecutive_failures:
            reason = (
                f"stopping the run after {self.consecutive_failures} consecutive failed calls "
                f"(max_consecutive_failures={self.max_consecutive_failures})"
            )
        else:
            return error
        self._open = ModelUnavailable(f"{error}; {reason}", role=self.role, endpoint=self.endpoint)
        return self._open
