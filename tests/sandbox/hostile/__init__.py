"""Hostile candidate programs, kept as data: each cheats at a simple task or attacks the sandbox.

Every case implements a wrong (or cheating) solution, so the only road to `passed` is fooling the
sandbox. `expected` is the status the sandbox must give, read off the sandbox's code; a set of two
means either outcome is legitimate, and `why` says which mechanism produces which. Every case
runs in the big batch (test_hostile.py); the ones that beat an earlier sandbox are in
known_holes.py.

Programs may use placeholders filled from a `Context` (paths on the host the program tries to
reach): @CANARY@, @MARK@ (a file name no one else uses), @REPO@, @HOME@, and files the suite
creates for programs to try to delete: @VICTIM_REPO@ (in the repository), @VICTIM_USR@ (in /usr).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

ADD_ASSERTS = "assert add(2, 3) == 5\nassert add(-4, 10) == 6\nassert add(0, 0) == 0\n"
ADD_CHECK = (
    "def check(candidate):\n"
    "    assert candidate(2, 3) == 5\n"
    "    assert candidate(-4, 10) == 6\n"
    "    assert candidate(0, 0) == 0\n"
)
ADD_CHECK_FLOAT = (
    "def check(candidate):\n"
    "    assert abs(candidate(2, 3) - 5) < 1e-9\n"
    "    assert abs(candidate(-4, 10) - 6) < 1e-9\n"
)

# Finds `add(2, 3) == 5` / `candidate(2, 3) == 5` in any text and answers from the table: the
# classic cheat of in-process harnesses, where the test source sits in the same process.
STEAL = """
import re as _re

_PATTERN = _re.compile(r"(?:add|candidate)\\(\\s*(-?\\d+),\\s*(-?\\d+)\\s*\\)\\s*==\\s*(-?\\d+)")
_TABLE = {}


def _learn(text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if isinstance(text, str) and "==" in text:
        for a, b, want in _PATTERN.findall(text):
            _TABLE[(int(a), int(b))] = int(want)


def _answer(a, b):
    return _TABLE.get((a, b), 0)
"""


@dataclass(frozen=True)
class Context:
    """Host paths the hostile programs aim at; none may be reachable from the sandbox."""

    canary: Path
    mark: str
    repo: Path
    home: Path
    victim_repo: Path
    victim_usr: Path

    def targets(self) -> list[Path]:
        """Every host path a hostile program tries to create (none may exist afterwards)."""
        roots = [self.repo, self.repo / "tests" / "sandbox", self.home, Path("/etc"), Path("/usr")]
        roots += [Path("/tmp"), self.canary.parent, Path("/"), Path("/dev")]
        return [root / self.mark for root in roots]


@dataclass(frozen=True)
class HostileCase:
    """One hostile program, the tests it faces, and the verdicts the sandbox may give."""

    name: str
    program: str
    expected: frozenset[str]
    why: str
    tests: str = ADD_ASSERTS
    entry_point: str | None = None
    trusted: str = ""

    def filled(self, context: Context) -> HostileCase:
        """The case with its placeholders replaced by the context's paths."""
        program = textwrap.dedent(self.program).lstrip("\n")
        for key, value in (
            ("@CANARY@", str(context.canary)),
            ("@MARK@", context.mark),
            ("@REPO@", str(context.repo)),
            ("@HOME@", str(context.home)),
            ("@VICTIM_REPO@", str(context.victim_repo)),
            ("@VICTIM_USR@", str(context.victim_usr)),
        ):
            program = program.replace(key, value)
        return HostileCase(
            name=self.name,
            program=program,
            expected=self.expected,
            why=self.why,
            tests=self.tests,
            entry_point=self.entry_point,
            trusted=self.trusted,
        )


def case(
    name: str,
    program: str,
    expected: str | set[str],
    why: str,
    *,
    check: bool = False,
    tests: str | None = None,
    entry_point: str | None = None,
    trusted: str = "",
) -> HostileCase:
    """A case; `check=True` uses the HumanEval form (check(candidate), entry point `add`)."""
    statuses = frozenset({expected} if isinstance(expected, str) else expected)
    if check:
        tests, entry_point = tests or ADD_CHECK, entry_point or "add"
    return HostileCase(
        name=name,
        program=program,
        expected=statuses,
        why=why,
        tests=tests or ADD_ASSERTS,
        entry_point=entry_point,
        trusted=trusted,
    )


def all_cases(context: Context) -> list[HostileCase]:
    """Every hostile case, placeholders filled."""
    from . import escapes, forgeries, known_holes, resources

    cases = [*resources.CASES, *escapes.CASES, *forgeries.CASES, *known_holes.CASES]
    names = [item.name for item in cases]
    duplicates = {name for name in names if names.count(name) > 1}
    assert not duplicates, f"duplicate hostile case names: {duplicates}"
    return [item.filled(context) for item in cases]
