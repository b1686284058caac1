"""The optimized prompt a run writes, read back exactly as the student received it."""

from __future__ import annotations

import json
from pathlib import Path

from concept_distill.agents.student_prompt import StudentPrompt
from concept_distill.errors import ConfigError

PROMPT_JSON = "optimized_prompt.json"
PROMPT_TEXT = "optimized_prompt.txt"
RULES_FILE = "rules.jsonl"

CANDIDATES = frozenset({"proposed", "accepted", "rejected", "pruned"})
"""Statuses of rules that reached validation (the filters refused the others)."""


def load_optimized_prompt(path: Path | str) -> StudentPrompt:
    """The prompt in `optimized_prompt.json`, or the system prompt in `optimized_prompt.txt`.

    `path` may also be a run directory, whose JSON file is read. The JSON file records where the
    rules go (`placement`; format @1 files, older, always put them in the system prompt). A
    `.txt` (or any other non-JSON file) is taken byte for byte as the system prompt: with the
    default placement a run writes both files with exactly the same prompt, so either one given
    to `eval --prompt` sends the same request and hits the same cache entries. With the rules in
    the user message, only the JSON file holds them. A run's `rules.jsonl` gives the study's
    unvalidated baseline: every candidate rule, accepted or not, in proposal order, with the
    run's base prompt and placement.

    Raises:
        ConfigError: the file is missing, unreadable, or a JSON file without a string `prompt`.
    """
    path = Path(path)
    if path.is_dir():
        path = path / PROMPT_JSON
    if path.name == RULES_FILE:
        return _all_candidates(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise ConfigError(f"cannot read prompt {path}: {reason}") from error
    if path.suffix != ".json":
        return StudentPrompt(base=text)
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ConfigError(f"{path}: bad JSON: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("prompt"), str):
        raise ConfigError(f"{path}: expected an object with a string field 'prompt'")
    placement = data.get("placement", "system")
    if placement == "system":
        return StudentPrompt(base=str(data["prompt"]))
    rules = data.get("rules")
    try:
        if not isinstance(rules, list):
            raise TypeError("rules is not a list")
        texts = tuple(str(rule["text"]) for rule in rules)
        return StudentPrompt(base=str(data["base_prompt"]), rules=texts, placement=placement)
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"{path}: placement {placement!r} needs base_prompt and rules") from error


def _all_candidates(path: Path) -> StudentPrompt:
    """Every rule of a run that reached validation, in proposal order, appended unvalidated."""
    document = path.parent / PROMPT_JSON
    try:
        data = json.loads(document.read_text(encoding="utf-8"))
        base, placement = str(data["base_prompt"]), data.get("placement", "system")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"{path}: needs the run's {PROMPT_JSON} (format @2) beside it") from error
    texts: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read rules {path}: {error}") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rule = json.loads(line)
            status, text = rule["status"], rule["text"]
        except (ValueError, KeyError, TypeError) as error:
            raise ConfigError(f"{path}:{number}: not a rule") from error
        if status in CANDIDATES:
            texts.append(str(text))
    try:
        return StudentPrompt(base=base, rules=tuple(texts), placement=placement)
    except ValueError as error:
        raise ConfigError(f"{document}: unknown placement {placement!r}") from error


def without_rules(path: Path | str, leave_out: list[str]) -> StudentPrompt:
    """The optimized prompt of `path` (a run directory or its JSON file) minus some rules by id.

    For the study's ablation: each accepted rule left out on test. The rules are rebuilt from
    `base_prompt` and `rules`, so the prompt is exactly the run's with those rules removed.

    Raises:
        ConfigError: not a format @2 file, or an id that is not one of its rules.
    """
    path = Path(path)
    if path.is_dir():
        path = path / PROMPT_JSON
    load_optimized_prompt(path)  # the same checks and one-line errors
    data = json.loads(path.read_text(encoding="utf-8"))
    try:
        rules = [(str(rule["id"]), str(rule["text"])) for rule in data["rules"]]
        base, placement = str(data["base_prompt"]), data.get("placement", "system")
    except (KeyError, TypeError) as error:
        raise ConfigError(f"{path}: --leave-out needs base_prompt and rules (format @2)") from error
    unknown = sorted(set(leave_out) - {rule_id for rule_id, _ in rules})
    if unknown:
        known = ", ".join(rule_id for rule_id, _ in rules) or "none"
        raise ConfigError(f"--leave-out {unknown[0]}: not a rule of {path} (its rules: {known})")
    kept = tuple(text for rule_id, text in rules if rule_id not in leave_out)
    return StudentPrompt(base=base, rules=kept, placement=placement)
