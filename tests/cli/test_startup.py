"""Start-up stays cheap: importing the package or registering the commands loads nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys

import concept_distill

HEAVY = ("langchain", "langchain_core", "langchain_openai", "langgraph", "openai", "httpx")
# Ours, loaded only by the commands that use them.
HEAVY_OURS = (
    "concept_distill.config",
    "concept_distill.graph",
    "concept_distill.sandbox.supervisor",
    "concept_distill.local.registry",
)


def loaded_after(code: str) -> list[str]:
    """Top-level packages of HEAVY (and concept_distill's heavy modules) imported by `code`."""
    probe = (
        f"{code}\nimport json, sys\n"
        "print(json.dumps(sorted({name for name in sys.modules if name.split('.')[0] in "
        f"{HEAVY!r} or name in {HEAVY_OURS!r}}})))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_importing_the_package_loads_nothing_heavy() -> None:
    assert loaded_after("import concept_distill") == []


def test_registering_every_command_loads_nothing_heavy() -> None:
    code = "import concept_distill.cli as cli\ncli._register_subcommands()"
    assert loaded_after(code) == []


def test_help_runs_without_heavy_imports() -> None:
    code = (
        "import contextlib, io\nimport concept_distill.cli as cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert cli.main(['--help']) == 0\n"
        "    assert cli.main(['run', '--help']) == 0\n"
        "    assert cli.main(['models', '--help']) == 0\n"
    )
    assert loaded_after(code) == []


def test_every_public_name_resolves_and_is_listed() -> None:
    for name in concept_distill.__all__:
        assert getattr(concept_distill, name) is not None, name
    assert set(concept_distill.__all__) <= set(dir(concept_distill))
    from concept_distill import build_graph, load_optimized_prompt

    assert callable(build_graph) and callable(load_optimized_prompt)


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        concept_distill.no_such_name  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("expected AttributeError")


LAZY_PACKAGES = (
    "concept_distill",
    "concept_distill.agents",
    "concept_distill.models",
    "concept_distill.local",
    "concept_distill.sandbox",
)


def test_lazy_names_survive_their_modules_being_imported_first() -> None:
    """Importing a submodule binds it on its package, hiding a lazy name spelt like the module.

    `from concept_distill.local import LlamaServer, fetch` once returned the module
    `concept_distill.local.fetch`, because resolving `LlamaServer` imported it. In a fresh
    process, import every module of each package first, then check each public name.
    """
    code = (
        "import importlib, pkgutil, types\n"
        f"for package in {LAZY_PACKAGES!r}:\n"
        "    module = importlib.import_module(package)\n"
        "    for info in pkgutil.iter_modules(module.__path__, package + '.'):\n"
        "        if not info.name.endswith('__main__'):\n"
        "            importlib.import_module(info.name)\n"
        "    for name in module.__all__:\n"
        "        value = getattr(module, name)\n"
        "        assert not isinstance(value, types.ModuleType), f'{package}.{name} is a module'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
