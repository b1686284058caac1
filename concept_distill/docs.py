"""Reference docs generated from the code: the config tree and the teacher's reply schema.

    python -m concept_distill.docs            # rewrite docs/config.md and docs/teacher-reply.md
    python -m concept_distill.docs --check    # exit 1 if either is out of date

Every field of the pydantic config tree is listed with its YAML key, type, default and
description, one table per section, so a user finds `task.path` without reading the models.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

DOCS = Path(__file__).resolve().parents[1] / "docs"

_CONFIG_HEADER = """\
# Configuration reference

Generated from the pydantic config tree (`concept_distill.config.Config`) by
`python -m concept_distill.docs`; do not edit by hand (a test fails when this file is stale).

A config is one YAML file; any key can be overridden on the command line with
`--set key.sub=value` (the value is parsed as YAML). Relative paths are relative to the working
directory. Unknown keys are refused. Secrets never live here: a model names the environment
variable that holds its key (`api_key_env`).
"""

_TEACHER_HEADER = """\
# The teacher's reply

Generated from `concept_distill.agents.teacher.TeacherReply` by `python -m concept_distill.docs`;
do not edit by hand.

The teacher answers every induction request with one JSON object of this shape (a fake teacher
in a test must too). A reply that does not parse is repaired once; if it still fails, the batch
is recorded as a teacher failure and none of its rules are tried. Rules beyond the requested
number are dropped.

Example:

```json
{
  "diagnosis": "The student stops before giving a final number.",
  "rules": [
    {"rule": "When you give the result, end with 'The answer is N.'", "mistakes": [1, 3]}
  ]
}
```

JSON schema:
"""


def _type_name(annotation: Any) -> str:
    """A short, readable type: `int`, `path | null`, `'exact' | 'numeric'`, `list[string]`."""
    if annotation is type(None):
        return "null"
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin is Literal:
        return " | ".join(repr(value) for value in arguments)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(argument) for argument in arguments)
    if origin is typing.Annotated:
        return _type_name(arguments[0])
    if origin is not None:
        inner = ", ".join(_type_name(argument) for argument in arguments)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    names = {str: "string", int: "int", float: "float", bool: "bool", Path: "path"}
    if annotation in names:
        return names[annotation]
    return str(getattr(annotation, "__name__", annotation))


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for argument in typing.get_args(annotation):
        yield from _models_in(argument)


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return "(section defaults)"
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if isinstance(value, Path):
        return f"`{value}`"
    return f"`{json.dumps(value, default=str)}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _sections(root: type[BaseModel], prefix: str) -> list[tuple[str, type[BaseModel]]]:
    """(YAML path, model) for the root and every model reachable from it, depth first."""
    found: list[tuple[str, type[BaseModel]]] = [(prefix, root)]
    for name, field in root.model_fields.items():
        for model in _models_in(field.annotation):
            path = f"{prefix}.{name}" if prefix else name
            found += _sections(model, path)
    return found


def config_reference() -> str:
    """docs/config.md: one table per section of the config tree."""
    from concept_distill.config import Config

    parts = [_CONFIG_HEADER]
    sections = _sections(Config, "")
    paths: dict[type[BaseModel], list[str]] = {}
    forms: dict[str, list[str]] = {}
    for path, model in sections:
        paths.setdefault(model, []).append(path)
        forms.setdefault(path, []).append(model.__name__)
    for model, where in paths.items():
        title = ", ".join(f"`{path}`" for path in where) if where != [""] else "top level"
        choices = sorted({name for path in where for name in forms[path]} - {model.__name__})
        alternatives = f" (or, in its place, {', '.join(choices)})" if choices else ""
        parts.append(f"\n## {title}: {model.__name__}{alternatives}\n")
        parts.append(f"\n{_cell(model.__doc__ or '')}\n\n")
        parts.append("| key | type | default | description |\n|---|---|---|---|\n")
        for name, field in model.model_fields.items():
            description = field.description or ""
            nested = list(_models_in(field.annotation))
            if nested and not description:
                description = " ".join(_cell(m.__doc__ or "") for m in nested)
            parts.append(
                f"| `{name}` | {_cell(_type_name(field.annotation))} | {_default(field)} "
                f"| {_cell(description) or '(undocumented)'} |\n"
            )
    return "".join(parts)


def teacher_reply_reference() -> str:
    """docs/teacher-reply.md: the reply's example and JSON schema."""
    from concept_distill.agents.teacher import TeacherReply

    schema = json.dumps(TeacherReply.model_json_schema(), indent=2)
    return f"{_TEACHER_HEADER}\n```json\n{schema}\n```\n"


def generated() -> dict[Path, str]:
    """Every generated document by its path."""
    return {
        DOCS / "config.md": config_reference(),
        DOCS / "teacher-reply.md": teacher_reply_reference(),
    }


def main(argv: list[str] | None = None) -> int:
    """Write the documents, or with --check report the stale ones (exit 1)."""
    parser = argparse.ArgumentParser(prog="python -m concept_distill.docs")
    parser.add_argument("--check", action="store_true", help="fail if a document is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, text in generated().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    for path in stale:
        print(f"{path} is out of date: run python -m concept_distill.docs", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
