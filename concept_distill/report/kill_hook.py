"""Test-only: crash this process at a named point, to prove that a crash there is survived.

The crash tests (`tests/graph/test_kill_points.py`) kill a run with SIGKILL mostly from outside,
at the N-th request a fake server sees; writing the report makes no request, so the run kills
itself there instead when `CONCEPT_DISTILL_TEST_KILL_BEFORE` names the file about to be written.
Nothing but those tests sets the variable; unset, this is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

KILL_BEFORE = "CONCEPT_DISTILL_TEST_KILL_BEFORE"
"""The environment variable naming the point (a run-directory file name, e.g. `report.html`)."""


def kill_here_if_asked(point: str) -> None:
    """SIGKILL this process, as `kill -9` would, if `KILL_BEFORE` names `point` (tests only)."""
    if os.environ.get(KILL_BEFORE) == point:
        os.kill(os.getpid(), signal.SIGKILL)
