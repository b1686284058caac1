"""Load a benchmark script from `bench/` as a module, so tests can check its functions."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH_DIR = Path(__file__).parents[2] / "bench"


def load_bench(name: str) -> ModuleType:
    """`bench/<name>.py` as module `<name>` (registered, as dataclasses look modules up by name)."""
    spec = importlib.util.spec_from_file_location(name, BENCH_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
