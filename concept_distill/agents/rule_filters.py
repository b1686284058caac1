"""Cheap checks that drop bad rules before they cost a validation pass.

A rule that quotes its batch (its objects, names, numbers or literals) is a leak: it would help on
those problems and nowhere else. The check compares the rule's content words with the batch's
problems: a word both use is a leak unless it is general vocabulary (the stopwords and the math
and code words below), whatever its case, after folding plurals and simple inflections ("jars" is
"jar", "calculating" is "calculate"). Numbers are compared with the problems and the answers.
Platitudes ("double-check your work") never change behaviour. Near-duplicates of a rule already
proposed or accepted are merged into it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from concept_distill.agents.prompts import MAX_WORDS
from concept_distill.records import Example, ExampleResult, RuleStatus

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_']*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_QUOTED = re.compile(r"['\"`]([^'\"`]{2,})['\"`]")
# Numbers a general procedure names (halving, percentages, common unit conversions); any other
# number the batch shows is a leak, 10 included.
_HARMLESS_NUMBERS = {"0", "1", "2", "7", "12", "24", "60", "100", "1000"}
_PLATITUDES = re.compile(
    r"\b(double[- ]check|check your (work|answer|calculation)s?|be careful|carefully|"
    r"pay (close )?attention|make sure (that )?you|verify your|read the (problem|question)|"
    r"think step by step|take your time|avoid (mistakes|errors))\b",
    re.IGNORECASE,
)


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_CONDITIONAL = re.compile(r"\b(when|if|whenever|before|after|for|unless)\b", re.IGNORECASE)
_STOP = _word_set(
    """
the a an of to and or in on for with is are be when if it its that this as by at from then
your you was were been being am do does did done has have had not no nor but so than too very
can could should would will shall may might must i me my we us our he him his she her they
them their there here these those what which who whom whose where why how whenever unless
while about above below into onto out up down off over under again once only own same such
other another any all both few more most some many much several every either neither also just
now still yet already always never each per one two three four five six seven eight nine ten
hundred thousand first second third last next before after between during through without
within because since until whether well among across toward towards upon onto via
"""
)
# General vocabulary a rule may share with its batch: the task and the reply; arithmetic; money,
# measures and time; code. Extend it when a general rule is flagged as a leak.
_GENERAL = _word_set(
    """
problem question answer reply student step steps line sentence word
phrase final result solution reason reasoning work example case situation statement
information detail given ask asked say said state mention describe read write show explain
finish end start begin stop give get got take took make made use find found need want know
keep put set let like way time times part whole rest remain remaining left leftover new old
original initial current previous following same different other unit units kind type group
item object thing person people someone something everyone anyone name label term order
include exclude ignore consider check verify confirm identify determine apply follow change
become turn come go move add added

number numbers amount quantity value total sum difference product quotient
remainder ratio rate fraction decimal percent percentage half double twice triple quarter
third average mean median count calculate calculation compute computation subtract subtraction
multiply multiplication divide division plus minus equal equals equation expression formula
operation intermediate increase decrease reduce grow gain lose loss round whole integer digit
positive negative even odd maximum minimum max min greater less fewer larger smaller bigger
least most combined combine altogether together overall separate separately split share shared
equally evenly distribute remove convert conversion multiple single pair dozen score point
points

cost price pay paid spend spent buy bought sell sold earn earned
profit revenue income save saved saving money dollar cent discount tax fee charge interest
budget change wage salary bill each every per hour minute second day week month year daily
weekly monthly yearly annual morning night age old older younger distance speed length width
height area volume weight mile kilometer meter foot feet inch pound gram kilogram liter gallon
size capacity extra hourly overtime commission tip deposit shift trip lap round game games
match player team member friend family class adult child children kid parent worker customer
guest boy girl man men woman women someone's

function program code return returns list string integer float boolean bool true false
none null input output argument parameter variable loop iterate index element character char
array dict dictionary key tuple set empty length sort sorted reverse append test edge boundary
call signature docstring import module exception error raise condition comparison compare
match prefix suffix substring space whitespace lowercase uppercase letter vowel consonant
prime factor divisor modulo mod power square root absolute range sequence position adjacent
consecutive unique duplicate frequency occurrence window recursion recursive indices copy
place increment decrement counter accumulator build path zero task exact exactly nested inner
outer slice join strip separator delimiter text matter correct wrong valid invalid ascending
descending iteration helper instead directly explicitly carefully used using uses everything
event happen happens
"""
)


def check_rule(
    text: str,
    problems: str,
    answers: str,
    existing: list[str],
    *,
    illustration: str = "",
    vocabulary: frozenset[str] = frozenset(),
) -> tuple[RuleStatus, str]:
    """(status, reason): `proposed` when the rule may go on to validation.

    `problems` is the batch's problem text (its content words and numbers are example-specific);
    `answers` its reference and student answers (their numbers and quoted literals are too, but
    their words are not compared: a format keyword the reference demands is not an object).
    `illustration`, the teacher's own worked example when rules carry one, must not quote the
    batch either, and must fit on one line of at most `MAX_WORDS` words. `vocabulary` holds the
    task's own words (`task_vocabulary`): a rule may name the situations the whole task is
    about ("the secret code word"), never one problem's objects ("the honey").
    """
    rule = " ".join(text.split())
    if not rule:
        return "malformed", "empty rule"
    if len(rule.split()) > MAX_WORDS or len(rule) > 8 * MAX_WORDS:
        return "too_long", f"longer than {MAX_WORDS} words"
    if len(illustration.split()) > MAX_WORDS or "\n" in illustration.strip():
        return "too_long", f"the illustration is not one line of at most {MAX_WORDS} words"
    leaked = leaks(rule, problems, answers, vocabulary=vocabulary) or leaks(
        illustration, problems, answers, numbers=False, vocabulary=vocabulary
    )
    if leaked:
        return "leak", f"quotes {leaked!r} from its batch"
    if _PLATITUDES.search(rule) and not _CONDITIONAL.search(rule):
        return "generic", "generic advice without a situation it applies to"
    for other in existing:
        if similarity(rule, other) >= DUPLICATE_SIMILARITY:
            return "duplicate", f"near-duplicate of: {other}"
    return "proposed", ""


def batch_text(mistakes: Sequence[tuple[Example, ExampleResult]]) -> tuple[str, str]:
    """(problems, answers) of a batch, as `check_rule` takes them.

    The answers hold everything else the teacher was shown: reference answers, worked
    solutions and the student's replies, whose numbers a rule must not quote either.
    """
    problems = "\n".join(example.question for example, _ in mistakes)
    answers = "\n".join(
        f"{example.answer}\n{example.meta.get('solution') or ''}\n{result.attempt.reply}"
        for example, result in mistakes
    )
    return problems, answers


def leaks(
    text: str,
    problems: str,
    answers: str,
    *,
    numbers: bool = True,
    vocabulary: frozenset[str] = frozenset(),
) -> str:
    """The first number, content word or quoted literal `text` takes from its batch, or "".

    `numbers=False` for an illustration: its small made-up numbers often coincide with the
    batch's by chance, while a copied problem still shows in its objects.
    """
    shown = f"{problems}\n{answers}"
    batch_numbers = set(_NUMBER.findall(shown)) if numbers else set()
    for number in _NUMBER.findall(text):
        if number in batch_numbers and number not in _HARMLESS_NUMBERS:
            return str(number)
    batch_content = {fold(word) for word in _WORD.findall(problems)} - _GENERAL_FOLDED - vocabulary
    for word in _WORD.findall(text):
        if len(word) < 2:  # the "t" of "t-shirts": "shirts" is the word to report
            continue
        if word.lower() not in _STOP and fold(word) in batch_content:
            return str(word)
    for literal in _QUOTED.findall(text):
        if literal in shown:
            return str(literal)
    return ""


TASK_WORD_SHARE = 0.2
"""A word in at least this share of the task's questions is the task's, not one problem's."""


def task_vocabulary(questions: Sequence[str], share: float = TASK_WORD_SHARE) -> frozenset[str]:
    """Folded content words in at least `share` of `questions` (the train and validation splits).

    On GSM8K no object word comes near 20% ("honey", "jars" are in a handful of problems); in a
    task whose every question asks for "the secret code word", those words are the task's.
    """
    if not questions:
        return frozenset()
    counts: dict[str, int] = {}
    for question in questions:
        for word in {fold(word) for word in _WORD.findall(question)}:
            counts[word] = counts.get(word, 0) + 1
    return frozenset(word for word, n in counts.items() if n >= share * len(questions))


_INFLECTIONS = (
    ("ies", "y"), ("sses", "ss"), ("xes", "x"), ("ches", "ch"), ("shes", "sh"),
    ("ing", ""), ("ed", ""), ("ly", ""), ("s", ""),
)  # fmt: skip


def fold(word: str) -> str:
    """A crude stem, the same for a word's plural and simple inflections ("jars", "jar").

    Adverbs fold onto their adjective ("initially", "initial"), so a general rule's "initially"
    is as general as "initial" (SVAMP's negative-control run refused such a rule as a leak).

    Not a linguistic stemmer: it only needs to give related forms one key, on both sides of a
    comparison, and collisions between unrelated words are rare and harmless here.
    """
    stem = word.lower().removesuffix("'s").strip("'")
    for _ in range(2):  # "strings" -> "string" -> "str", like "string" -> "str"
        for suffix, replacement in _INFLECTIONS:
            kept = len(stem) - len(suffix)
            if not stem.endswith(suffix) or kept < (5 if suffix == "ly" else 3):
                continue  # short -ly words are names as often as adverbs ("Billy", "bill")
            if (suffix == "s" and stem.endswith(("ss", "us", "is"))) or (
                suffix == "ed" and stem[kept - 1] == "e"
            ):
                break
            stem = stem[:kept] + replacement
            break
    if len(stem) > 3 and stem.endswith("e"):
        stem = stem[:-1]
    if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "aeiou":
        stem = stem[:-1]
    return stem[:-1] + "i" if len(stem) > 2 and stem.endswith("y") else stem


_GENERAL_FOLDED = {fold(word) for word in _GENERAL | _STOP}
DUPLICATE_SIMILARITY = 0.6
"""Content-word Jaccard similarity at or above which two rules count as one."""


def similarity(first: str, second: str) -> float:
    """Jaccard similarity of the content words (folded, without stopwords)."""
    a, b = _content(first), _content(second)
    return len(a & b) / len(a | b) if a and b else 0.0


def distinct_rules(texts: Sequence[str], existing: Sequence[str] = ()) -> list[int]:
    """Indices of the texts to keep: each one unless it near-duplicates `existing` or a kept one.

    For rules from several teacher samples of one batch, which cannot see each other: the first
    of each group of near-identical rules (normalised text, or similarity at or above
    `DUPLICATE_SIMILARITY`) is kept, in order.
    """
    kept: list[int] = []
    seen = [" ".join(text.split()) for text in existing]
    for index, text in enumerate(texts):
        normalised = " ".join(text.split())
        if not normalised:
            continue
        if any(
            normalised.casefold() == other.casefold()
            or similarity(normalised, other) >= DUPLICATE_SIMILARITY
            for other in seen
        ):
            continue
        kept.append(index)
        seen.append(normalised)
    return kept


def _content(text: str) -> set[str]:
    return {fold(word) for word in _WORD.findall(text) if word.lower() not in _STOP}
