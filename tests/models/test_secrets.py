from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel

from concept_distill.errors import ConfigError, ModelError
from concept_distill.models import ModelConfig, ModelSet
from concept_distill.testing import Fail, FakeOpenAIServer

pytestmark = pytest.mark.anyio
ConfigFactory = Callable[..., ModelConfig]
SECRET = "sk-test-DO-NOT-LEAK-0123456789abcdef"


class Answer(BaseModel):
    value: int


async def test_api_key_is_sent_as_a_header_and_appears_nowhere_else(
    make_config: ConfigFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    monkeypatch.setenv("FAKE_PROVIDER_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    async with FakeOpenAIServer(api_key=SECRET) as keyed:
        config = make_config(base_url=keyed.base_url, api_key_env="FAKE_PROVIDER_KEY")
        echo = Fail(500, message=f"upstream refused key {SECRET}")
        keyed.add_script("plain", '{"value": 3}', echo, echo)
        cache_path = tmp_path / "cache" / "responses.db"
        async with ModelSet(
            {"teacher": config.model_copy(update={"max_retries": 1})}, cache_path=cache_path
        ) as models:
            teacher = models["teacher"]
            await teacher.complete([("user", "hello")])
            await teacher.structured([("user", "give a number")], Answer)
            with pytest.raises(ModelError) as caught:
                await teacher.complete([("user", "this one fails")])
            spend_path = tmp_path / "spend.json"
            spend_path.write_text(models.spend().model_dump_json())
            shown = [repr(models), repr(teacher), repr(config), config.model_dump_json()]

    # The key was really in use (the server checks it), so its absence below means something.
    assert all(request.headers["Authorization"] == f"Bearer {SECRET}" for request in keyed.requests)
    # The server echoed the key in its error, and the retry log line carried that error: masked.
    assert any("upstream refused key ***" in record.getMessage() for record in caplog.records)
    assert SECRET not in caplog.text
    assert SECRET not in str(caught.value)
    assert all(SECRET not in text for text in shown)
    assert all(SECRET not in request.body for request in keyed.requests)
    stored = list((tmp_path / "cache").iterdir())
    assert stored
    for path in [*stored, spend_path]:
        assert SECRET.encode() not in path.read_bytes(), path


async def test_missing_key_variable_is_a_config_error_naming_the_variable(
    make_config: ConfigFactory, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("ABSENT_KEY_VAR", raising=False)

    with pytest.raises(ConfigError, match="ABSENT_KEY_VAR"):
        ModelSet({"student": make_config(api_key_env="ABSENT_KEY_VAR")})


async def test_keyless_endpoint_never_receives_openai_api_key_from_the_environment(
    server: FakeOpenAIServer, make_config: ConfigFactory, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    async with ModelSet({"student": make_config()}) as models:
        await models["student"].complete([("user", "hello")])

    assert server.requests[0].headers["Authorization"] == "Bearer no-key"


def test_config_rejects_unknown_fields_and_has_described_fields():
    with pytest.raises(ValueError, match="api_key"):
        ModelConfig(base_url="http://h/v1", model="m", api_key=SECRET)  # type: ignore[call-arg]

    undocumented = [
        name for name, field in ModelConfig.model_fields.items() if not field.description
    ]
    assert undocumented == []
