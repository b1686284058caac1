"""Progress without a terminal: a line per phase, at most one progress line per interval."""

from __future__ import annotations

import io

import pytest

from concept_distill.cli.progress import LiveView, Pace, PlainProgress, format_duration
from concept_distill.events import IterationEvent, PhaseEvent, ProgressEvent, RuleDecidedEvent


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (42.4, "42s"), (59.6, "1m00s"), (185, "3m05s"), (3720, "1h02m"), (-3, "0s")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_pace_from_known_times() -> None:
    pace = Pace(label="initial-train", total=40, started=0.0)
    assert pace.per_minute() is None and pace.eta_seconds() is None
    pace.update(10, 30.0)  # 10 replies in 30 s: 20 per minute, 30 left take 90 s
    assert pace.per_minute() == pytest.approx(20.0)
    assert pace.eta_seconds() == pytest.approx(90.0)
    assert pace.describe() == "initial-train: 10/40, 20.0 replies/min, ETA 1m30s"


def test_plain_lines_are_throttled_to_one_per_interval() -> None:
    clock, out = Clock(), io.StringIO()
    progress = PlainProgress(out, interval_s=10.0, clock=clock)
    progress(PhaseEvent(phase="prepare", student_calls_at_most=90))
    progress(PhaseEvent(phase="initialize"))
    for done in range(1, 31):  # one reply per second for 30 s
        clock.now += 1.0
        progress(ProgressEvent(label="initial-train", done=done, total=30))
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["phase: prepare", "phase: initialize"]
    progress_lines = [line for line in lines if line.startswith("progress: ")]
    # The first reply, then at 11 s, 21 s, and the last one (30/30): never more than 1 per 10 s.
    assert [line.split(";")[0].split(",")[0] for line in progress_lines] == [
        "progress: initial-train: 1/30",
        "progress: initial-train: 11/30",
        "progress: initial-train: 21/30",
        "progress: initial-train: 30/30",
    ]
    # 21 replies in the 21 s since the phase before them: the other 69 take at most 69 s.
    assert progress_lines[2].endswith(
        "21/30, 60.0 replies/min, ETA 9s; run: 21 of at most 90 student replies, at most 1m09s left"
    )


def test_plain_lines_for_rules_and_rounds_accept_dicts_too() -> None:
    out = io.StringIO()
    progress = PlainProgress(out, clock=Clock())
    progress(RuleDecidedEvent(rule_id="r1-0-1", text="Say the answer.", status="accepted"))
    progress({"event": "iteration", "iteration": 1, "validation_accuracy": 0.625, "rules": 1})
    assert out.getvalue().splitlines() == [
        "rule r1-0-1 accepted: Say the answer.",
        "round 1 done: validation accuracy 62.5%",
    ]


def test_live_view_shows_the_eta_of_the_current_evaluation() -> None:
    clock = Clock()
    view = LiveView(clock=clock)
    view(PhaseEvent(phase="validate"))
    view(ProgressEvent(label="validate-r1", done=0, total=20))
    clock.now += 60.0
    view(ProgressEvent(label="validate-r1", done=5, total=20))
    view(IterationEvent(iteration=1, validation_accuracy=0.5, rules=1))
    text = io.StringIO()
    from rich.console import Console

    Console(file=text, width=120).print(view.render())
    rendered = text.getvalue()
    assert "validate-r1: 5/20, 5.0 replies/min, ETA 3m00s" in rendered
    assert "50.0%" in rendered


def test_interleaved_evaluations_keep_their_own_pace() -> None:
    clock, out = Clock(), io.StringIO()
    progress = PlainProgress(out, interval_s=0.0, clock=clock)
    for step in range(1, 5):  # two candidates validated at once, one reply each per 2 s
        clock.now += 1.0
        progress(ProgressEvent(label="validate-a", done=step, total=10))
        clock.now += 1.0
        progress(ProgressEvent(label="validate-b", done=step, total=10))
    last = out.getvalue().splitlines()[-2:]
    # a: replies 2..4 in the 6 s since its first event; b likewise.
    assert last == [
        "progress: validate-a: 4/10, 30.0 replies/min, ETA 12s",
        "progress: validate-b: 4/10, 30.0 replies/min, ETA 12s",
    ]


def test_whole_run_time_left_is_at_most_the_bound_at_the_pace_so_far() -> None:
    clock = Clock()
    view = LiveView(clock=clock)
    view(PhaseEvent(phase="prepare", run_dir="runs/x", student_calls_at_most=100))
    for done in range(1, 11):  # a reply every 6 s; 90 of the bound left take at most 540 s
        clock.now += 6.0
        view(ProgressEvent(label="initial-train", done=done, total=40))
    assert view.state.run.describe() == "run: 10 of at most 100 student replies, at most 9m00s left"
    text = io.StringIO()
    from rich.console import Console

    Console(file=text, width=120).print(view.render())
    assert "at most 9m00s left" in text.getvalue()


def test_cached_replies_take_no_part_in_the_pace() -> None:
    """A resumed run's cached pass is instant; the time left comes from paid replies only."""
    clock, out = Clock(), io.StringIO()
    progress = PlainProgress(out, interval_s=0.0, clock=clock)
    progress(PhaseEvent(phase="prepare", student_calls_at_most=100))
    for done in range(1, 41):  # 40 cache hits within one second
        clock.now += 0.025
        progress(ProgressEvent(label="initial-train", done=done, total=40, cached=True))
    # A cached-only evaluation has no pace to report, and the run no estimate yet.
    assert out.getvalue().splitlines()[-1] == (
        "progress: initial-train: 40/40; run: 40 of at most 100 student replies"
    )
    for done in range(1, 11):  # then 10 paid replies, one every 6 s
        clock.now += 6.0
        progress(ProgressEvent(label="initial-validation", done=done, total=60))
    # Validation: replies 2..10 in the 54 s since its first: 10 per minute, 50 left take 5 min.
    # Run: 10 paid replies in the 60 s since the last cached one (the cached pass is not a
    # pace); the 50 of the bound left, all assumed paid, take at most 50 x 6 s = 5m00s.
    assert out.getvalue().splitlines()[-1] == (
        "progress: initial-validation: 10/60, 10.0 replies/min, ETA 5m00s; "
        "run: 50 of at most 100 student replies, at most 5m00s left"
    )


def test_start_up_and_parallel_replies_are_not_read_as_the_pace() -> None:
    """Servers loading for 90 s before the first event, then 4 slots each answering in 8 s."""
    clock = Clock()
    view = LiveView(clock=clock)  # built when the command starts
    clock.now += 90.0
    view(PhaseEvent(phase="prepare", student_calls_at_most=100))
    view(PhaseEvent(phase="initialize"))
    done = 0
    for _batch in range(2):
        clock.now += 8.0
        for _slot in range(4):  # four replies finish together
            done += 1
            view(ProgressEvent(label="initial-train", done=done, total=40))
    # 8 replies in the 16 s since the phase that asked for them: 2 s each, 92 left take 184 s
    # (timed from the command's start it would be 106 s / 8 replies, 13.25 s each: 20m19s).
    assert view.state.run.describe() == "run: 8 of at most 100 student replies, at most 3m04s left"
