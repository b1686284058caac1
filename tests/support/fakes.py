"""Fakes shared by the tests: a math student that follows one known rule, scripted teachers,
and the same two as HTTP reply functions for the fake OpenAI-compatible servers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from concept_distill.agents.student import ChatStudent
from concept_distill.agents.teacher import ChatTeacher
from concept_distill.agents.verifier import TaskVerifier
from concept_distill.config import Config
from concept_distill.models.messages import WireMessage
from concept_distill.tasks import build_task
from concept_distill.testing import RecordedRequest, ScriptedChatModel

_GOLD: dict[str, str] = {}
HELPFUL = "When you give the result, end with the sentence 'The answer is N.' using digits."
USELESS = "When a problem mentions time, convert every duration to minutes first."
GENERIC = "Always double-check your calculations carefully."


def make_config(tmp_path: Path, **loop: Any) -> Config:
    return Config.model_validate(
        {
            "task": {"name": "multiarith"},
            "splits": {"seed": 7, "train": 12, "validation": 16, "test": 16},
            "models": {"student": {"base_url": "http://unused/v1", "model": "x"}},
            "acceptance": {"policy": "paired_test", "alpha": 0.1},
            "loop": {"max_iterations": 3, "mistakes_per_batch": 3, **loop},
            "run_dir": str(tmp_path / "runs"),
        }
    )


def rule_following_student(config: Config) -> tuple[ChatStudent, ScriptedChatModel]:
    """Right on every example whose gold is even; on the rest only with the helpful rule."""
    task = build_task("multiarith")

    def reply(messages: list[WireMessage]) -> str:
        system = str(messages[0]["content"]) if messages[0]["role"] == "system" else ""
        return answer_with_rule(system, str(messages[-1]["content"]))

    model = ScriptedChatModel(reply=reply, role="student")
    return ChatStudent(model, task), model


def scripted_teacher(
    rounds: list[list[str]] | None = None,
) -> tuple[ChatTeacher, ScriptedChatModel]:
    task = build_task("multiarith")
    rounds = rounds if rounds is not None else [[HELPFUL, USELESS, GENERIC]]
    script = [
        json.dumps(
            {"diagnosis": "The student gives no final number.",
             "rules": [{"rule": text, "mistakes": [1]} for text in rules]}
        )
        for rules in rounds
    ]  # fmt: skip
    model = ScriptedChatModel(
        script, role="teacher", reply=lambda _m: json.dumps({"diagnosis": "x", "rules": []})
    )
    return ChatTeacher(model, task, max_rules=3), model


def verifier() -> TaskVerifier:
    return TaskVerifier(build_task("multiarith"))


def gold_answers() -> dict[str, str]:
    """MultiArith gold answers by question text (read once)."""
    if not _GOLD:
        _GOLD.update((e.question, e.answer) for e in build_task("multiarith").load())
    return _GOLD


def answer_with_rule(system: str, question: str) -> str:
    """Right on every even gold answer; on odd ones only when the system prompt has HELPFUL."""
    answer = gold_answers()[question]
    if HELPFUL in system or int(float(answer)) % 2 == 0:
        return f"The answer is {answer}."
    return "No idea."


def student_http_reply(request: RecordedRequest) -> str:
    """`answer_with_rule` for a FakeOpenAIServer."""
    messages = json.loads(request.body)["messages"]
    system = messages[0]["content"] if messages[0]["role"] == "system" else ""
    return answer_with_rule(system, messages[-1]["content"])


def teacher_http_reply(*rules: str) -> Callable[[RecordedRequest], str]:
    """A FakeOpenAIServer reply function proposing `rules` (HELPFUL by default) every time."""
    proposed = [{"rule": text, "mistakes": [1]} for text in rules or (HELPFUL,)]

    def reply(request: RecordedRequest) -> str:
        return json.dumps({"diagnosis": "No final number is given.", "rules": proposed})

    return reply
