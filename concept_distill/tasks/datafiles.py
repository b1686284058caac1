"""The data sets shipped in the package, and reading data files with errors naming the line."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from concept_distill.errors import ConfigError

SHIPPED_DATA = Path(__file__).resolve().parents[1] / "data"
"""`concept_distill/data`: GSM8K (test), SVAMP and MultiArith, each beside its licence."""


def shipped_data_file(name: str) -> Path:
    """A data file shipped with the package (present in a clone and in an installed wheel)."""
    return SHIPPED_DATA / name


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """Objects of a JSONL file (optionally .gz); ConfigError naming the first bad line."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                text = handle.read()
        else:
            text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, EOFError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from error
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            raise ConfigError(f"{path} line {number}: bad JSON: {error}") from error
        if not isinstance(row, dict):
            raise ConfigError(f"{path} line {number}: expected a JSON object")
        rows.append(row)
    if not rows:
        raise ConfigError(f"{path}: no examples (the file is empty)")
    return rows


def read_json_array(path: Path) -> list[dict[str, Any]]:
    """Objects of a JSON file holding one array."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from error
    except ValueError as error:
        raise ConfigError(f"{path}: bad JSON: {error}") from error
    if not isinstance(data, list) or not data:
        raise ConfigError(f"{path}: expected a non-empty JSON array of objects")
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise ConfigError(f"{path} item {index}: expected a JSON object")
    return data


def require(path: Path, where: str, row: dict[str, Any], field: str) -> Any:
    """A field that must be present and non-empty."""
    value = row.get(field)
    if value is None or value == "":
        raise ConfigError(f"{path} {where}: missing field: {field}")
    return value
