r"""Finding the final number in a free-text reply, and comparing numbers by value.

Replies come in many shapes: `The answer is 18.`, `#### 1,234`, `\boxed{\frac{3}{4}}`, `$18.00`,
`18 dollars`, `-3.5`, `3/4`. The final answer is looked for in order of explicitness: a boxed value,
a `####` line, an "answer is" phrase, and otherwise the last number in the reply outside code.
"""

from __future__ import annotations

import re
from fractions import Fraction

_NUMBER = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|-?\.\d+"
_FRACTION = rf"(?P<num>{_NUMBER})\s*/\s*(?P<den>{_NUMBER})"
_LATEX_FRACTION = r"\\d?frac\{\s*(?P<lnum>-?[\d.,]+)\s*\}\{\s*(?P<lden>-?[\d.,]+)\s*\}"
_TOKEN = re.compile(rf"{_LATEX_FRACTION}|{_FRACTION}|(?P<plain>{_NUMBER})")
_BOXED = re.compile(r"\\boxed\s*\{((?:[^{}]|\{[^{}]*\})*)\}")
_HASHES = re.compile(r"####\s*([^\n]*)")
_CODE_BLOCK = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
_ANSWER_PHRASE = re.compile(r"answer\W{0,3}\s*(?:is\b|=|:)\s*:?([^\n]*)", re.IGNORECASE)


def parse_number(text: str) -> Fraction | None:
    """The first number in `text` (fractions included), exactly; None when there is none."""
    values = _numbers(text)
    return values[0] if values else None


def _numbers(text: str) -> list[Fraction]:
    found: list[Fraction] = []
    for match in _TOKEN.finditer(text):
        try:
            if match.group("lnum") is not None:
                value = _plain(match.group("lnum")) / _plain(match.group("lden"))
            elif match.group("num") is not None:
                value = _plain(match.group("num")) / _plain(match.group("den"))
            else:
                value = _plain(match.group("plain"))
        except (ZeroDivisionError, ValueError):
            continue
        found.append(value)
    return found


def _plain(token: str) -> Fraction:
    return Fraction(token.replace(",", ""))


def extract_final_number(reply: str) -> Fraction | None:
    """The reply's final answer as an exact number, or None when it gives no number."""
    for pattern in (_BOXED, _HASHES, _ANSWER_PHRASE):
        for candidate in reversed(pattern.findall(reply)):
            value = _stated(candidate)
            if value is not None:
                return value
    # Numbers inside code blocks are assignments, not answers, unless there is nothing else.
    values = _numbers(_CODE_BLOCK.sub("\n", reply)) or _numbers(reply)
    return values[-1] if values else None


def _stated(candidate: str) -> Fraction | None:
    """The number an answer states: the result of `#### 121 - 105 + 170 = 186`, else the first.

    A statement cut off after its `=` (a truncated reply) states nothing.
    """
    return parse_number(candidate.rsplit("=", 1)[-1])


def same_number(found: Fraction, gold: Fraction, *, tolerance: float = 1e-6) -> bool:
    """Equal within a relative tolerance (gold answers like 0.333 vs 1/3 are common)."""
    scale = max(Fraction(1), abs(gold))
    return abs(found - gold) <= Fraction(tolerance) * scale


def format_number(value: Fraction) -> str:
    """Integers without a decimal point; others as a decimal exact enough to score (15 digits)."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.15g}"
