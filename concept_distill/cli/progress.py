"""Progress of a run, from the graph's custom stream events, with or without a terminal.

Both views take one event at a time through `__call__(event)`: a typed record of
`concept_distill.events` or its JSON form (a dict), read field by field. `PlainProgress` writes
lines for a log file
(`make demo > demo.log`): one per phase and at most one progress line per interval during an
evaluation. `LiveView` is a rich live table for a terminal. Both estimate the time left in the
current evaluation from its pace so far (`Pace`), and the most the whole run can still take
from `--dry-run`'s bound on student calls (`RunPace`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from rich.live import Live
from rich.table import Table

Clock = Callable[[], float]


def format_duration(seconds: float) -> str:
    """`42s`, `3m05s` or `1h02m`: short enough for a progress line."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@dataclass
class Pace:
    """Replies per minute and time left in one evaluation, from its first event to the latest."""

    label: str
    total: int
    started: float
    done_at_start: int = 0
    """Examples already done when the clock started (the first event, or a resumed run's)."""
    done: int = 0
    updated: float = field(default=0.0)
    cached: int = 0
    """Replies since the clock started that came from the response cache (no model time)."""

    def update(self, done: int, now: float, *, cached: bool = False) -> None:
        """Record that `done` of `total` examples are finished at time `now`.

        `cached`: the reply that finished came from the response cache; it is left out of the
        pace, which would otherwise promise a resumed run's cached pass speed for what is left.
        """
        self.done, self.updated = done, now
        self.cached += cached

    def per_minute(self) -> float | None:
        """Paid replies per minute so far; None before the first one or the first second."""
        elapsed = self.updated - self.started
        replies = self.done - self.done_at_start - self.cached
        if replies <= 0 or elapsed <= 0:
            return None
        return 60.0 * replies / elapsed

    def eta_seconds(self) -> float | None:
        """Seconds until the last example at the pace so far; None while unknown."""
        rate = self.per_minute()
        if rate is None:
            return None
        return 60.0 * max(0, self.total - self.done) / rate

    def describe(self) -> str:
        """`label: done/total, R replies/min, ETA T` (rate and ETA once known)."""
        text = f"{self.label}: {self.done}/{self.total}"
        rate, eta = self.per_minute(), self.eta_seconds()
        if rate is not None and eta is not None:
            text += f", {rate:.1f} replies/min, ETA {format_duration(eta)}"
        return text


@dataclass
class RunPace:
    """The whole run: replies so far against `--dry-run`'s bound, so the time left is at most.

    A resumed run counts only this process's replies against the whole bound, so the estimate
    stays an upper bound. The pace is that of paid replies (cached ones take no model time),
    and every reply still to come is assumed paid. Its clock starts at the event heard just
    before the first paid reply (the phase that started the evaluation, or a resumed run's last
    cached reply): the model servers' start-up, before any event, is not spread over the first
    replies, and a first batch of replies finishing together, several slots at once, is timed
    from when they were asked for. Time between replies (the teacher's turns) stays in it, as
    it will in what is left.
    """

    calls_at_most: int | None = None
    replies: int = 0
    paid: int = 0
    """Replies that were not cache hits."""
    clock_from: float | None = None
    updated: float = 0.0
    last_heard: float | None = None

    def heard(self, now: float) -> None:
        """Any event was heard at `now` (after `reply` for a reply's own event)."""
        self.last_heard = now

    def reply(self, now: float, *, cached: bool) -> None:
        """One student reply finished at `now`."""
        self.replies += 1
        if not cached:
            self.paid += 1
            if self.clock_from is None:
                self.clock_from = self.last_heard if self.last_heard is not None else now
        self.updated = now

    def eta_at_most(self) -> float | None:
        """Seconds left at most at the paid pace so far; None while unknown."""
        if self.calls_at_most is None or self.clock_from is None:
            return None
        elapsed = self.updated - self.clock_from
        if self.paid <= 0 or elapsed <= 0:
            return None
        return elapsed * max(0, self.calls_at_most - self.replies) / self.paid

    def describe(self) -> str:
        """`run: R of at most N student replies, at most T left` (T once known)."""
        if self.calls_at_most is None:
            return f"run: {self.replies} student replies"
        text = f"run: {self.replies} of at most {self.calls_at_most} student replies"
        eta = self.eta_at_most()
        return text if eta is None else f"{text}, at most {format_duration(eta)} left"


class _Progress:
    """What both views track: the phase, the current evaluation's pace, rule counts."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.run = RunPace()
        self.phase = "starting"
        self.iteration = 0
        self.proposed = 0
        self.accepted = 0
        self.validation_accuracy: float | None = None
        self.pace: Pace | None = None
        """The evaluation heard from last."""
        self._paces: dict[str, Pace] = {}
        """Every evaluation of the current phase by label (candidates may be validated at once)."""

    def take(self, record: object) -> str | None:
        """Update from one event; returns its kind."""
        event = event_fields(record)
        kind = event.get("event")
        now = self.clock()
        if kind == "phase":
            self.phase = str(event.get("phase"))
            if event.get("student_calls_at_most") is not None:
                self.run.calls_at_most = _int(event, "student_calls_at_most")
            self.pace = None
            self._paces.clear()
        elif kind == "example":
            label, done, total = str(event.get("label")), _int(event, "done"), _int(event, "total")
            pace = self._paces.get(label)
            if pace is None or done < pace.done:
                # A new evaluation: its clock starts now, counting only replies from here on.
                pace = Pace(label=label, total=total, started=now, done_at_start=done, updated=now)
                self._paces[label] = pace
            cached = bool(event.get("cached"))
            self.run.reply(now, cached=cached)  # one event per reply
            pace.total = total
            pace.update(done, now, cached=cached)
            self.pace = pace
        elif kind == "rule_proposed":
            self.proposed += 1
        elif kind == "rule_decided" and event.get("status") == "accepted":
            self.accepted += 1
        elif kind == "iteration":
            self.iteration = _int(event, "iteration")
            accuracy = event.get("validation_accuracy")
            self.validation_accuracy = float(accuracy) if accuracy is not None else None
        self.run.heard(now)
        return None if kind is None else str(kind)


def event_fields(record: object) -> Mapping[str, Any]:
    """An event's fields, whether it is a pydantic record or already its JSON form."""
    if isinstance(record, Mapping):
        return record
    dump = getattr(record, "model_dump", None)
    return dump() if callable(dump) else {}


def _int(event: Mapping[str, Any], key: str) -> int:
    value = event.get(key)
    return int(value) if value is not None else 0


class PlainProgress:
    """Lines for a log file: one per phase or round, and progress at most every `interval_s`."""

    def __init__(
        self, stream: IO[str], *, interval_s: float = 10.0, clock: Clock = time.monotonic
    ) -> None:
        self.stream = stream
        self.interval_s = interval_s
        self.state = _Progress(clock)
        self._last_progress: float | None = None

    def __call__(self, record: object) -> None:
        """Take one event (the run itself logs it to run.log); maybe write a line."""
        kind = self.state.take(record)
        event, state = event_fields(record), self.state
        if kind == "phase":
            self._write(f"phase: {state.phase}")
            self._last_progress = None
        elif kind == "example" and state.pace is not None:
            now = state.clock()
            first = self._last_progress is None
            finished = state.pace.done >= state.pace.total
            due = first or now - (self._last_progress or 0.0) >= self.interval_s
            if due or finished:
                whole = f"; {state.run.describe()}" if state.run.calls_at_most else ""
                self._write(f"progress: {state.pace.describe()}{whole}")
                self._last_progress = now
                if finished:
                    self._last_progress = None
        elif kind == "rule_decided":
            self._write(f"rule {event.get('rule_id')} {event.get('status')}: {event.get('text')}")
        elif kind == "iteration":
            self._write(f"round {state.iteration} done: {_accuracy(state)}")

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()


def _accuracy(state: _Progress) -> str:
    if state.validation_accuracy is None:
        return "validation accuracy unknown"
    return f"validation accuracy {100 * state.validation_accuracy:.1f}%"


class LiveView:
    """A live table of the run for a terminal, with the ETA of the current evaluation."""

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self.state = _Progress(clock)
        self.live = Live(self.render(), refresh_per_second=4, transient=False)

    def render(self) -> Table:
        """The current view."""
        state = self.state
        table = Table(show_header=False, title="concept-distill")
        table.add_row("phase", state.phase)
        table.add_row("round", str(state.iteration))
        pace = state.pace
        table.add_row("progress", pace.describe() if pace is not None else "")
        table.add_row("whole run", state.run.describe())
        if state.validation_accuracy is not None:
            table.add_row("validation accuracy", f"{100 * state.validation_accuracy:.1f}%")
        table.add_row("rules proposed / accepted", f"{state.proposed} / {state.accepted}")
        return table

    def __call__(self, record: object) -> None:
        """Take one event (the run itself logs it to run.log) and redraw."""
        self.state.take(record)
        self.live.update(self.render())
