from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from concept_distill.models import ModelConfig
from concept_distill.testing import FakeOpenAIServer


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as fake:
        yield fake


ConfigFactory = Callable[..., ModelConfig]


@pytest.fixture
def make_config(server: FakeOpenAIServer) -> ConfigFactory:
    """A config pointing at the fake server, with fast retries unless overridden."""

    def build(**overrides: Any) -> ModelConfig:
        fields: dict[str, Any] = {
            "base_url": server.base_url,
            "model": "fake-model",
            "retry_backoff_s": 0.01,
            "timeout_s": 5.0,
        }
        return ModelConfig(**(fields | overrides))

    return build
