"""The model layer against the real llama-server with SmolLM2-135M, counted at a proxy."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from concept_distill.models import ModelConfig, ModelSet
from concept_distill.testing import CountingProxy

pytestmark = [pytest.mark.slow, pytest.mark.anyio]


class Verdict(BaseModel):
    # An enum and a length bound: llama-server turns both into its sampling grammar, so every
    # reply it can produce is short and valid.
    answer: Literal["yes", "no"] = Field(description="yes or no")
    reason: str = Field(max_length=80, description="one short sentence")


def config(base_url: str, model: str, **extra: Any) -> ModelConfig:
    # A generous timeout: on a busy 2-core machine a retry would be counted as a second call.
    settings: dict[str, Any] = {"max_tokens": 48, "seed": 1, "timeout_s": 900, "max_retries": 0}
    return ModelConfig(base_url=base_url, model=model, **{**settings, **extra})


async def test_completion_cache_usage_and_structured_output(
    local_server: Any, tmp_path: Path
) -> None:
    root = local_server.root_url
    messages = [{"role": "user", "content": "Name one colour of the rainbow."}]
    async with CountingProxy(root) as proxy:
        cache = tmp_path / "cache.sqlite"
        async with ModelSet(
            {"student": config(proxy.base_url, local_server.model)}, cache_path=cache
        ) as models:
            reply = await models["student"].complete(messages)
            assert reply.text.strip() and not reply.cached
            assert len(proxy.chat_requests()) == 1
            spend = models["student"].spend()
            # The layer's accounting equals what the server itself reported.
            assert spend.prompt_tokens == proxy.usage["prompt_tokens"] > 0
            assert spend.completion_tokens == proxy.usage["completion_tokens"] > 0
        async with ModelSet(
            {"student": config(proxy.base_url, local_server.model)}, cache_path=cache
        ) as again:
            repeat = await again["student"].complete(messages)
            assert repeat.cached and repeat.text == reply.text
            assert len(proxy.chat_requests()) == 1, "a cached repeat must make no call"
            assert again["student"].spend().cached_calls == 1
        # max_tokens bounds the grammar's longest reply (about 310 characters: 80 of reason,
        # the keys and quotes, and at most 22 characters of whitespace at each of 9 places), so
        # the reply cannot be cut off.
        async with ModelSet(
            {"teacher": config(proxy.base_url, local_server.model, max_tokens=384)}
        ) as models:
            result = await models["teacher"].structured(
                [{"role": "user", "content": "Is the sky blue? Answer as JSON."}], Verdict
            )
        request = json.loads(proxy.chat_requests()[-1]["body"])
        schema = request["response_format"]["json_schema"]["schema"]
        assert schema["properties"]["answer"]["enum"] == ["yes", "no"]
        assert schema["properties"]["reason"]["maxLength"] == 80
        # The server samples under the schema's grammar: even a 135M model's first reply
        # validates, so there is no repair call and no recorded failure.
        assert result.failure is None and not result.repaired
        assert isinstance(result.value, Verdict) and len(result.value.reason) <= 80
        assert len(result.replies) == 1 and result.replies[0].finish_reason == "stop"
        assert len(proxy.chat_requests()) == 2  # the first completion, then this one request


async def test_fake_key_never_reaches_logs_or_cache(
    local_server: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "sk-real-server-test-" + os.urandom(6).hex()
    monkeypatch.setenv("FAKE_LOCAL_KEY", secret)
    caplog.set_level("DEBUG")
    cache = tmp_path / "cache.sqlite"
    model_config = config(local_server.base_url, local_server.model, api_key_env="FAKE_LOCAL_KEY")
    async with ModelSet({"student": model_config}, cache_path=cache) as models:
        await models["student"].complete([{"role": "user", "content": "Say hi."}])
        text = repr(models) + models.spend().model_dump_json()
    assert secret not in caplog.text and secret not in text
    assert secret.encode() not in cache.read_bytes()
