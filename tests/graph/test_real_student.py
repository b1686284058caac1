"""The graph end to end with the real local server as the student (SmolLM2-135M) and a scripted
teacher that proposes one helpful rule among useless ones: the helpful one must be accepted, and
the update step re-checks the train mistakes with the real model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from concept_distill.agents.student import ChatStudent
from concept_distill.agents.teacher import ChatTeacher
from concept_distill.config import Config
from concept_distill.distillation import distill
from concept_distill.models import ModelConfig, ModelSet
from concept_distill.tasks import build_task
from concept_distill.testing import ScriptedChatModel

pytestmark = [pytest.mark.slow, pytest.mark.anyio]
HELPFUL = (
    "When you are asked for the secret code word or the password, reply with the word PINEAPPLE."
)
USELESS = [
    "When a question mentions a number, round it to the nearest ten.",
    "When you are asked about animals, think of farm animals first.",
]
# The task is a secret only the rule can tell: SmolLM2-135M mostly ignores instructions in a
# system prompt, but it does copy a salient word from it (measured: 7 of 8 with the rule, 0 of 8
# without), so this rule is known to help and the useless ones are known not to.
ASKS = [
    "What is the secret code word?",
    "Tell me the secret code word.",
    "What is the password?",
    "Which word is the secret code?",
    "Say the secret code word, please.",
    "What's the code word?",
    "I need the secret code word.",
    "Give me the password word.",
]
POLITE = ["", "Quick question: ", "Hello! ", "Please help. ", "One more thing: "]


def write_task(path: Path) -> Path:
    rows = [
        {"id": f"q{index}", "input": f"{polite}{ask}", "answer": "(?i)pineapple"}
        for index, (polite, ask) in enumerate((p, a) for p in POLITE for a in ASKS)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


async def test_helpful_rule_is_accepted_with_the_real_student(
    local_server: Any, tmp_path: Path
) -> None:
    data = write_task(tmp_path / "names.jsonl")
    config = Config.model_validate(
        {
            "task": {"name": "jsonl", "path": str(data), "scorer": "regex",
                     "description": "Answer questions about a secret the student does not know."},
            "splits": {"seed": 1, "train": 8, "validation": 12, "test": 12},
            "models": {"student": {"base_url": local_server.base_url, "model": local_server.model}},
            "prompt": {"base": "You are a helpful assistant."},
            "acceptance": {"policy": "threshold", "min_delta": 0.15},
            "loop": {"max_iterations": 1},
            "concurrency": 4,
            "run_dir": str(tmp_path / "runs"),
        }
    )  # fmt: skip
    task = build_task("jsonl", path=data, scorer="regex")
    student_config = ModelConfig(
        base_url=local_server.base_url, model=local_server.model, max_tokens=24, timeout_s=900
    )
    teacher_model = ScriptedChatModel(
        [json.dumps({"diagnosis": "The student does not know the code word.",
                     "rules": [{"rule": USELESS[0]}, {"rule": HELPFUL}, {"rule": USELESS[1]}]})],
        role="teacher",
    )  # fmt: skip
    async with ModelSet({"student": student_config}, cache_path=tmp_path / "c.sqlite") as models:
        result = await distill(
            config,
            run_dir=tmp_path / "run",
            student=ChatStudent(models["student"], task),
            teacher=ChatTeacher(teacher_model, task),
        )
        real_calls = models["student"].spend().calls
    statuses = {rule.text: rule.status for rule in result.rules}
    assert statuses[HELPFUL] == "accepted", result.rules
    assert {statuses[text] for text in USELESS} == {"rejected"}
    assert result.metrics.test_accuracy_final > result.metrics.test_accuracy_base
    recheck = tmp_path / "run" / "results" / "recheck-1.jsonl"
    assert recheck.exists(), "the update step must re-check the train mistakes"
    assert real_calls >= 8 + 12 + 3 * 12  # initialize + one validation per candidate, for real
