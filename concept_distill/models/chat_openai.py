"""The `ChatOpenAI` underneath each role, and the API key it is given (read late, kept hidden)."""

from __future__ import annotations

import os

import openai
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from concept_distill.errors import ConfigError
from concept_distill.models.config import ModelConfig

NO_KEY = "no-key"
"""Sent as the bearer token to keyless local servers, so the SDK never falls back to
`OPENAI_API_KEY` and hands a real key to an endpoint that was not meant to have it."""


def read_api_key(role: str, config: ModelConfig) -> str:
    """The API key named by `config.api_key_env`, read now and never stored in the config.

    Raises:
        ConfigError: when the variable is named but not set (the message names the variable only).
    """
    if config.api_key_env is None:
        return NO_KEY
    value = os.environ.get(config.api_key_env, "")
    if not value:
        raise ConfigError(
            f"{role} model: environment variable {config.api_key_env} (api_key_env) is not set"
        )
    return value


def build_chat_openai(config: ModelConfig, api_key: str) -> ChatOpenAI:
    """The underlying langchain client: SDK retries off, usage reported even when streaming.

    It gets an HTTP client of its own: langchain-openai otherwise shares one per base URL across
    the process, whose pooled connections belong to the event loop that opened them, and a later
    loop (a new `anyio.run`, the next test) then fails with "Event loop is closed".
    """
    return ChatOpenAI(
        http_async_client=openai.DefaultAsyncHttpxClient(timeout=config.timeout_s),
        model=config.model,
        base_url=config.base_url,
        api_key=SecretStr(api_key),
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        timeout=config.timeout_s,
        max_retries=0,
        stream_usage=True,
        use_responses_api=False,
    )
