"""Scripted agents for graph tests: a student that follows one rule, a teacher with a script."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from concept_distill.agents.student import Student
from concept_distill.agents.teacher import Teacher
from concept_distill.agents.verifier import Verifier
from concept_distill.config import Config
from concept_distill.models.messages import WireMessage
from concept_distill.tasks import build_task
from concept_distill.testing import ScriptedChatModel

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
HELPFUL = "When you give the result, end with the sentence 'The answer is N.' using digits."
USELESS = "When a problem mentions time, convert every duration to minutes first."
GENERIC = "Always double-check your calculations carefully."


def make_config(tmp_path: Path, **loop: Any) -> Config:
    return Config.model_validate(
        {
            "task": {"name": "multiarith", "data_dir": str(DATA)},
            "splits": {"seed": 7, "train": 12, "validation": 16, "test": 16},
            "models": {"student": {"base_url": "http://unused/v1", "model": "x"}},
            "acceptance": {"policy": "paired_test", "alpha": 0.1},
            "loop": {"max_iterations": 3, "mistakes_per_batch": 3, **loop},
            "run_dir": str(tmp_path / "runs"),
        }
    )


def rule_following_student(config: Config) -> tuple[Student, ScriptedChatModel]:
    """Right on every example whose gold is even; on the rest only with the helpful rule."""
    task = build_task("multiarith", data_dir=DATA)
    gold = {example.question: example.answer for example in task.load()}

    def reply(messages: list[WireMessage]) -> str:
        system = str(messages[0]["content"]) if messages[0]["role"] == "system" else ""
        answer = gold[str(messages[-1]["content"])]
        if HELPFUL in system or int(float(answer)) % 2 == 0:
            return f"Adding it up. The answer is {answer}."
        return "I am not sure how to do this one."

    model = ScriptedChatModel(reply=reply, role="student")
    return Student(model, task), model


def scripted_teacher(rounds: list[list[str]] | None = None) -> tuple[Teacher, ScriptedChatModel]:
    task = build_task("multiarith", data_dir=DATA)
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
    return Teacher(model, task, max_rules=3), model


def verifier() -> Verifier:
    return Verifier(build_task("multiarith", data_dir=DATA))
