"""The optimized prompt a run writes, read back exactly as the student received it."""

from __future__ import annotations

import json
from pathlib import Path

from concept_distill.errors import ConfigError

PROMPT_JSON = "optimized_prompt.json"
PROMPT_TEXT = "optimized_prompt.txt"


def load_optimized_prompt(path: Path | str) -> str:
    """The prompt in `optimized_prompt.json` (its `prompt` field) or `optimized_prompt.txt`.

    `path` may also be a run directory, whose JSON file is read. A `.txt` (or any other non-JSON
    file) is returned byte for byte: a run writes both files with exactly the same prompt, so
    either one given to `eval --prompt` sends the same request and hits the same cache entries.

    Raises:
        ConfigError: the file is missing, unreadable, or a JSON file without a string `prompt`.
    """
    path = Path(path)
    if path.is_dir():
        path = path / PROMPT_JSON
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise ConfigError(f"cannot read prompt {path}: {reason}") from error
    if path.suffix != ".json":
        return text
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ConfigError(f"{path}: bad JSON: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("prompt"), str):
        raise ConfigError(f"{path}: expected an object with a string field 'prompt'")
    return str(data["prompt"])
