from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from pydantic import BaseModel, Field

from concept_distill.models import ModelConfig, RoleModel, parse_reply
from concept_distill.testing import FakeOpenAIServer, Reply, ScriptedChatModel

pytestmark = pytest.mark.anyio
ConfigFactory = Callable[..., ModelConfig]
ASK = [("system", "You diagnose mistakes."), ("user", "Why was 2+2=5 wrong?")]


class Diagnosis(BaseModel):
    cause: str = Field(description="What went wrong.")
    confidence: float = Field(ge=0, le=1, description="How sure the teacher is.")


VALID = json.dumps({"cause": "off by one", "confidence": 0.9})


async def test_valid_reply_parses_on_the_first_try(
    server: FakeOpenAIServer, make_config: ConfigFactory
):
    server.add_script(VALID)
    model = RoleModel("teacher", make_config())

    result = await model.structured(ASK, Diagnosis)

    assert result.ok and not result.repaired
    assert result.value == Diagnosis(cause="off by one", confidence=0.9)
    sent = server.requests[0].json["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["name"] == "Diagnosis"
    assert sent["json_schema"]["schema"] == Diagnosis.model_json_schema()


async def test_invalid_reply_is_repaired_with_the_error_sent_back(
    server: FakeOpenAIServer, make_config: ConfigFactory
):
    bad = json.dumps({"cause": "off by one", "confidence": 7})
    server.add_script(bad, VALID)
    model = RoleModel("teacher", make_config())

    result = await model.structured(ASK, Diagnosis)

    assert result.repaired
    assert result.value is not None and result.value.confidence == 0.9
    repair = server.requests[1].json["messages"]
    assert repair[-2] == {"role": "assistant", "content": bad}
    assert "confidence" in repair[-1]["content"]
    assert "less than or equal to 1" in repair[-1]["content"]


async def test_still_malformed_reply_is_a_recorded_failure_not_an_exception(
    server: FakeOpenAIServer, make_config: ConfigFactory
):
    server.add_script("I think it was a typo.", "Sorry, no JSON today.")
    model = RoleModel("teacher", make_config())

    result = await model.structured(ASK, Diagnosis)

    assert not result.ok
    assert result.value is None
    assert result.failure is not None
    assert result.failure.schema_name == "Diagnosis"
    assert result.failure.raw_replies == ("I think it was a typo.", "Sorry, no JSON today.")
    assert len(result.failure.errors) == 2
    assert server.request_count == 2


async def test_truncated_reply_is_recorded_not_raised(
    server: FakeOpenAIServer, make_config: ConfigFactory
):
    cut = Reply('{"cause": "off by', finish_reason="length")
    server.add_script(cut, cut)
    model = RoleModel("teacher", make_config())

    result = await model.structured(ASK, Diagnosis)

    assert result.failure is not None
    assert [reply.finish_reason for reply in result.replies] == ["length", "length"]


async def test_json_object_mode_puts_the_schema_in_the_system_message(
    server: FakeOpenAIServer, make_config: ConfigFactory
):
    server.add_script(f"```json\n{VALID}\n```")
    model = RoleModel("teacher", make_config(structured_mode="json_object"))

    result = await model.structured(ASK, Diagnosis)

    assert result.ok
    body = server.requests[0].json
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"][0]["role"] == "system"
    assert body["messages"][0]["content"].startswith("You diagnose mistakes.")
    assert '"confidence"' in body["messages"][0]["content"]
    assert [message["role"] for message in body["messages"]] == ["system", "user"]


async def test_prompt_mode_sends_no_response_format(
    server: FakeOpenAIServer, make_config: ConfigFactory
):
    server.add_script(VALID)
    model = RoleModel("teacher", make_config(structured_mode="prompt"))

    await model.structured([("user", "diagnose")], Diagnosis)

    body = server.requests[0].json
    assert "response_format" not in body
    assert body["messages"][0]["role"] == "system"


async def test_scripted_model_repairs_the_same_way():
    model = ScriptedChatModel(["not json", VALID], role="teacher")

    result = await model.structured(ASK, Diagnosis)

    assert result.repaired
    assert len(model.calls) == 2
    assert model.calls[1][-2] == {"role": "assistant", "content": "not json"}
    assert model.spend().calls == 2


def test_parse_reply_tolerates_prose_around_the_object():
    text = f"Here you go:\n{VALID}\nHope that helps."

    assert parse_reply(text, Diagnosis).cause == "off by one"
