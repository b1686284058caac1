"""Cheap checks that drop bad rules before they cost a validation pass.

A rule that quotes values from its batch (numbers, names, literals) is a leak: it would help on
those problems and nowhere else. Platitudes ("double-check your work") never change behaviour.
Near-duplicates of a rule already proposed or accepted are merged into it.
"""

from __future__ import annotations

import re

from concept_distill.agents.teacher import MAX_WORDS
from concept_distill.records import RuleStatus

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_']*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_QUOTED = re.compile(r"['\"`]([^'\"`]{2,})['\"`]")
_HARMLESS_NUMBERS = {"0", "1", "2", "10", "100"}
_PLATITUDES = re.compile(
    r"\b(double[- ]check|check your (work|answer|calculation)s?|be careful|carefully|"
    r"pay (close )?attention|make sure (that )?you|verify your|read the (problem|question)|"
    r"think step by step|take your time|avoid (mistakes|errors))\b",
    re.IGNORECASE,
)
_CONDITIONAL = re.compile(r"\b(when|if|whenever|before|after|for|unless)\b", re.IGNORECASE)
_STOP = {
    "the", "a", "an", "of", "to", "and", "or", "in", "on", "for", "with", "is", "are", "be",
    "when", "if", "it", "its", "that", "this", "as", "by", "at", "from", "then", "your", "you",
}  # fmt: skip


def check_rule(
    text: str, problems: str, answers: str, existing: list[str]
) -> tuple[RuleStatus, str]:
    """(status, reason): `proposed` when the rule may go on to validation.

    `problems` is the batch's problem text (names and numbers there are example-specific);
    `answers` its reference and student answers (their numbers and literals are, too, but a
    format keyword the reference demands is not a name).
    """
    rule = " ".join(text.split())
    if not rule:
        return "malformed", "empty rule"
    if len(rule.split()) > MAX_WORDS or len(rule) > 8 * MAX_WORDS:
        return "too_long", f"longer than {MAX_WORDS} words"
    leaked = _leaks(rule, problems, answers)
    if leaked:
        return "leak", f"quotes {leaked!r} from its batch"
    if _PLATITUDES.search(rule) and not _CONDITIONAL.search(rule):
        return "generic", "generic advice without a situation it applies to"
    for other in existing:
        if similarity(rule, other) >= 0.6:
            return "duplicate", f"near-duplicate of: {other}"
    return "proposed", ""


def _leaks(rule: str, problems: str, answers: str) -> str:
    batch_text = f"{problems}\n{answers}"
    batch_numbers = set(_NUMBER.findall(batch_text))
    for number in _NUMBER.findall(rule):
        if number in batch_numbers and number not in _HARMLESS_NUMBERS:
            return str(number)
    batch_words = set(_WORD.findall(problems))
    for index, word in enumerate(_WORD.findall(rule)):
        # A capitalised word inside the rule (not its first word) that the batch also uses: a name.
        if index and word[0].isupper() and word in batch_words and word.lower() not in _STOP:
            return str(word)
    for literal in _QUOTED.findall(rule):
        if literal in batch_text:
            return str(literal)
    return ""


def similarity(first: str, second: str) -> float:
    """Jaccard similarity of the content words."""
    a, b = _content(first), _content(second)
    return len(a & b) / len(a | b) if a and b else 0.0


def _content(text: str) -> set[str]:
    return {word.lower() for word in _WORD.findall(text)} - _STOP
