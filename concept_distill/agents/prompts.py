"""Named prompt templates, kept apart from logic; placeholders are checked when loaded."""

from __future__ import annotations

import math
import string
from typing import Literal

from concept_distill.errors import ConfigError

TEACHER_SYSTEM = """\
You are an expert tutor who improves the instructions given to a weaker model (the student).
You are shown problems the student got wrong, its answers, what the checker said, and the
reference answers (with a worked solution when there is one). For each mistake, compare the
student's answer with the reference and find the FIRST step where it went wrong. Then write at
most {max_rules} rules that would have prevented these mistakes on NEW problems of the same kind.

The student is a small model: it gets answers right only by reasoning step by step in its reply.
A rule must never silence that reasoning: do not tell it to be brief, to skip steps, or to give
the answer directly; a rule that makes replies short makes the student worse.

Each rule must be:
- conditional and actionable: "When <situation>, <do this>."
- general: never mention names, numbers, objects or code literals from these problems;
- short: one sentence, at most {max_words} words;
- specific: no platitudes such as "double-check your work" or "read carefully".{rule_form}
Do not repeat a rule the student already has.

Reply with JSON only, matching this schema:
{{"diagnosis": "<why the student failed, in at most two short sentences>",
  "rules": [{rule_schema}]}}"""

RuleForm = Literal["bare", "illustrated"]
"""A bare rule, or a rule with a one-line worked illustration the teacher invents."""

RULE_FORMS: dict[RuleForm, tuple[str, str]] = {
    "bare": ("", '{"rule": "When ..., ...", "mistakes": [<numbers of the mistakes it fixes>]}'),
    "illustrated": (
        "\n- illustrated: give each rule a one-line worked example on a small problem you invent"
        "\n  yourself; never reuse the problems, objects or numbers shown here.",
        '{"rule": "When ..., ...", "example": "<one line: your own small problem, worked with '
        'the rule>", "mistakes": [<numbers of the mistakes it fixes>]}',
    ),
}
"""Per rule form: the line added to the teacher's requirements (`rule_form`) and the rule's JSON
shape (`rule_schema`). Both are inserted as values, never formatted, so braces stay single."""

TEACHER_USER = """\
Task: {task_description}

The student's current instructions:
<<<
{prompt}
>>>

The student's mistakes:
{mistakes}"""

TEACHER_MISTAKE = """\
### Mistake {number}
Problem:
{question}
Student's answer:
{reply}
Checker: {reason}
Reference answer:
{reference}
"""

TEACHER_REFERENCE_WITH_SOLUTION = """\
{answer}
Worked solution:
{solution}"""

TEACHER_TIPS_USER = """\
Task: {task_description}

The student's current instructions:
<<<
{prompt}
>>>

No mistakes are shown this time. Write the rules you expect to help a weak student most on
problems of this task, following the requirements above; leave "mistakes" empty."""

TEACHER_SOLVE_SYSTEM = """\
You solve problems of this kind: {task_description}
Reason step by step, then give the final answer in the form the task asks for; for a number,
end with 'The answer is N.'"""

ILLUSTRATION_PREFIX = "Example: "

MAX_WORDS = 40
"""Longest rule (and illustration) in words: one sentence a small student can keep in mind."""


def checked(template: str, fields: set[str], name: str) -> str:
    """The template, after checking it has exactly the expected placeholders."""
    found = {field for _, field, _, _ in string.Formatter().parse(template) if field}
    if found != fields:
        raise ConfigError(
            f"prompt template {name}: placeholders {sorted(found)} != {sorted(fields)}"
        )
    return template


TEMPLATES = {
    "teacher_system": checked(
        TEACHER_SYSTEM, {"max_rules", "max_words", "rule_form", "rule_schema"}, "teacher_system"
    ),
    "teacher_user": checked(
        TEACHER_USER, {"task_description", "prompt", "mistakes"}, "teacher_user"
    ),
    "teacher_mistake": checked(
        TEACHER_MISTAKE, {"number", "question", "reply", "reason", "reference"}, "teacher_mistake"
    ),
    "teacher_reference_with_solution": checked(
        TEACHER_REFERENCE_WITH_SOLUTION, {"answer", "solution"}, "teacher_reference_with_solution"
    ),
    "teacher_tips_user": checked(
        TEACHER_TIPS_USER, {"task_description", "prompt"}, "teacher_tips_user"
    ),
    "teacher_solve_system": checked(
        TEACHER_SOLVE_SYSTEM, {"task_description"}, "teacher_solve_system"
    ),
}


def estimate_tokens(text: str, chars_per_token: float) -> int:
    """Tokens `text` costs at most, at a conservative characters-per-token bound.

    The package's one estimator (prompt budgets, planning): no tokenizer is needed, and a bound
    of about 3 characters a token over-estimates English and code for the models we use.
    """
    if chars_per_token <= 0:
        raise ValueError("chars_per_token must be positive")
    return math.ceil(len(text) / chars_per_token)


def prompt_with_rules(base: str, rules: list[str]) -> str:
    """The student's system prompt: the base prompt, never replaced, then the accepted rules."""
    from concept_distill.agents.student_prompt import StudentPrompt

    return StudentPrompt(base=base, rules=tuple(rules)).system
