"""Roles given as objects: a LangChain chat model, a `ChatRole`, or a ready agent; no endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fakes import HELPFUL, USELESS
from support.roles import RuleFollowingChatModel, proposing_teacher

from concept_distill import ChatModelRole, distill
from concept_distill.agents import Student, Teacher, Verifier
from concept_distill.config import Config
from concept_distill.errors import ConfigError

pytestmark = pytest.mark.anyio


def config_without_models(tmp_path: Path) -> Config:
    return Config.model_validate(
        {
            "task": {"name": "multiarith"},
            "splits": {"seed": 7, "train": 12, "validation": 16, "test": 16},
            "loop": {"max_iterations": 2},
            "run_dir": str(tmp_path / "runs"),
        }
    )


async def test_a_langchain_student_and_a_chat_role_teacher_with_no_endpoint(
    tmp_path: Path,
) -> None:
    config = config_without_models(tmp_path)
    assert config.models.student is None and config.models.teacher is None
    model = RuleFollowingChatModel()
    result = await distill(
        config,
        student=ChatModelRole(model, name="rule-follower"),
        teacher=proposing_teacher(USELESS, HELPFUL),
    )
    assert [rule.text for rule in result.accepted_rules] == [HELPFUL]
    student = result.metrics.spend["roles"]["student"]  # type: ignore[index]
    # Tokens come from the model's usage_metadata (50 in, 5 out per reply, see the fake).
    assert student["calls"] == model.calls > 0
    assert student["prompt_tokens"] == 50 * model.calls
    assert student["completion_tokens"] == 5 * model.calls
    assert student["calls_without_usage"] == 0
    # Named: its replies are cached, so a second run pays for nothing it already asked.
    again = await distill(config, student=ChatModelRole(model, name="rule-follower"),
                          teacher=proposing_teacher(USELESS, HELPFUL))  # fmt: skip
    assert again.optimized_prompt == result.optimized_prompt
    assert again.metrics.spend["roles"]["student"]["calls"] == 0  # type: ignore[index]


async def test_an_unnamed_model_is_never_cached_and_missing_usage_is_recorded(
    tmp_path: Path,
) -> None:
    config = config_without_models(tmp_path)
    model = RuleFollowingChatModel(report_usage=False)
    first = await distill(config, student=model, teacher=proposing_teacher(HELPFUL))
    calls_after_first = model.calls
    await distill(config, student=model, teacher=proposing_teacher(HELPFUL))
    assert model.calls == 2 * calls_after_first, "no name, no cache: every call is made again"
    student = first.metrics.spend["roles"]["student"]  # type: ignore[index]
    assert student["calls_without_usage"] == student["calls"] == calls_after_first
    assert student["prompt_tokens"] == 0


async def test_a_role_missing_everywhere_is_a_config_error_before_any_call(
    tmp_path: Path,
) -> None:
    config = config_without_models(tmp_path)
    with pytest.raises(ConfigError, match=r"models\.teacher"):
        await distill(config, student=RuleFollowingChatModel())
    with pytest.raises(ConfigError, match=r"models\.student"):
        await distill(config, teacher=proposing_teacher())
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_the_agent_contracts_are_protocols_the_package_implements() -> None:
    from concept_distill.agents import ChatStudent, ChatTeacher, TaskVerifier
    from concept_distill.tasks import build_task

    task = build_task("multiarith")
    model = proposing_teacher()
    assert isinstance(ChatStudent(model, task), Student)
    assert isinstance(ChatTeacher(model, task), Teacher)
    assert isinstance(TaskVerifier(task), Verifier)
    assert not isinstance(model, Student), "a ChatRole is a model, not an agent"
