"""Racing stops early: one far better candidate among ones that do nothing, counted at a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.configs import fake_role
from support.fakes import HELPFUL, make_config, student_http_reply, teacher_http_reply

from concept_distill import distill
from concept_distill.testing import FakeOpenAIServer

pytestmark = pytest.mark.anyio
USELESS = [
    "When a problem mentions time, convert every duration to minutes first.",
    "When several people are named, list what each one has before adding.",
    "When a problem mentions money, write every amount in cents first.",
]


async def validation_requests(tmp_path: Path, policy: str) -> tuple[int, list[str]]:
    async with (
        FakeOpenAIServer(reply=student_http_reply) as student,
        FakeOpenAIServer(reply=teacher_http_reply(HELPFUL, *USELESS)) as teacher,
    ):
        config = make_config(tmp_path / policy, max_iterations=1)
        data: Any = config.model_dump(mode="json")
        data["splits"] = {"seed": 7, "train": 12, "validation": 60, "test": 10}
        data["models"] = {"student": fake_role(student.base_url, "s"),
                          "teacher": fake_role(teacher.base_url, "t")}  # fmt: skip
        data["acceptance"] = {"policy": policy, "alpha": 0.1}
        data["loop"]["rules_per_batch"] = 4
        data["cache_path"] = None
        result = await distill(type(config).model_validate(data))
        # Everything but initialization (12 + 60) and the test pass (2 x 10).
        validating = len(student.requests) - (12 + 60) - 2 * 10
    return validating, [rule.text for rule in result.accepted_rules]


async def test_racing_accepts_the_same_rule_for_far_fewer_calls(tmp_path: Path) -> None:
    raced, raced_rules = await validation_requests(tmp_path, "racing")
    paired, paired_rules = await validation_requests(tmp_path, "paired_test")
    assert raced_rules == paired_rules == [HELPFUL]
    # paired_test: 4 candidates x 60 examples (the base prompt's results are known), then the
    # re-check of the train mistakes. Racing drops the do-nothing rules after a few chunks.
    assert paired >= 4 * 60
    assert raced <= paired / 2, (raced, paired)
    print(f"validation requests: racing {raced}, paired_test {paired}")
