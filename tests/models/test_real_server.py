"""The model layer against the real llama-server with SmolLM2-135M, counted at a proxy."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from concept_distill.models import ModelConfig, ModelSet
from concept_distill.testing import CountingProxy

pytestmark = [pytest.mark.slow, pytest.mark.anyio]


class Verdict(BaseModel):
    answer: str = Field(description="yes or no")
    reason: str = Field(description="one short sentence")


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
        async with ModelSet(
            {"teacher": config(proxy.base_url, local_server.model, max_tokens=96)}
        ) as models:
            result = await models["teacher"].structured(
                [{"role": "user", "content": "Is the sky blue? Answer as JSON."}], Verdict
            )
        body = proxy.chat_requests()[-1]["body"]
        assert '"json_schema"' in body  # the schema was requested from the endpoint
        # A 135M model may or may not follow it; either way it is validated, never trusted.
        assert result.ok or (result.failure is not None and result.failure.raw_replies)
        if result.ok:
            assert isinstance(result.value, Verdict)


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
