from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

# pytest runs with --import-mode=importlib, which leaves sys.path alone: make this directory's
# helpers (sandbox_support, the hostile package) importable by the test modules next to it.
sys.path.insert(0, str(Path(__file__).parent))

from sandbox_support import free_uid_base, humaneval_problems


@pytest.fixture(scope="session")
def problems() -> list[dict[str, Any]]:
    """The 164 HumanEval problems."""
    found = humaneval_problems()
    assert len(found) == 164
    return found


@pytest.fixture(scope="session")
def uid_base() -> int:
    """Dedicated sandbox uids for this test run, apart from any other sandbox running here."""
    return free_uid_base()
