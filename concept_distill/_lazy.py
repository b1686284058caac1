"""PEP 562 lazy exports, shared by the packages that keep their import cheap.

`import concept_distill` (and `concept_distill.models`, `.agents`, `.local`, `.sandbox`) must not
load LangChain, LangGraph or an HTTP client: each public name is imported from its module the
first time it is used, then kept in the package so later lookups cost nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_getattr(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package`: `exports` maps a public name to its module.

    A module is absolute (`concept_distill.records`) or relative to the package (`server`).
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        path = module if module.startswith("concept_distill") else f"{package}.{module}"
        value = getattr(import_module(path), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
