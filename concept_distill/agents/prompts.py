"""Named prompt templates, kept apart from logic; placeholders are checked when loaded."""

from __future__ import annotations

import string

from concept_distill.errors import ConfigError

TEACHER_SYSTEM = """\
You are an expert tutor who improves the instructions given to a weaker model (the student).
You are shown problems the student got wrong, its answers, what the checker said, and the
reference answers. For each mistake, compare the student's answer with the reference and find
the FIRST step where it went wrong. Then write at most {max_rules} rules that would have
prevented these mistakes on NEW problems of the same kind.

Each rule must be:
- conditional and actionable: "When <situation>, <do this>."
- general: never mention names, numbers, objects or code literals from these problems;
- short: one sentence, at most {max_words} words;
- specific: no platitudes such as "double-check your work" or "read carefully".
Do not repeat a rule the student already has.

Reply with JSON only, matching this schema:
{{"diagnosis": "<why the student failed, in at most two short sentences>",
  "rules": [{{"rule": "When ..., ...", "mistakes": [<numbers of the mistakes it fixes>]}}]}}"""

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

RULES_HEADER = "\n\nFollow these rules:\n"


def checked(template: str, fields: set[str], name: str) -> str:
    """The template, after checking it has exactly the expected placeholders."""
    found = {field for _, field, _, _ in string.Formatter().parse(template) if field}
    if found != fields:
        raise ConfigError(
            f"prompt template {name}: placeholders {sorted(found)} != {sorted(fields)}"
        )
    return template


TEMPLATES = {
    "teacher_system": checked(TEACHER_SYSTEM, {"max_rules", "max_words"}, "teacher_system"),
    "teacher_user": checked(
        TEACHER_USER, {"task_description", "prompt", "mistakes"}, "teacher_user"
    ),
    "teacher_mistake": checked(
        TEACHER_MISTAKE, {"number", "question", "reply", "reason", "reference"}, "teacher_mistake"
    ),
}


def prompt_with_rules(base: str, rules: list[str]) -> str:
    """The student's prompt: the base prompt, never replaced, followed by the accepted rules."""
    if not rules:
        return base
    listed = "\n".join(f"- {rule}" for rule in rules)
    return f"{base.rstrip()}{RULES_HEADER}{listed}"
