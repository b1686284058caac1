"""The `ChatOpenAI` underneath each role, and the API key it is given (read late, kept hidden)."""

from __future__ import annotations

import os
from typing import Any

import openai
from langchain_openai import ChatOpenAI
from openai._constants import RAW_RESPONSE_HEADER
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


class PayloadAsIs:
    """The chat-completions resource langchain-openai calls, minus the SDK's request transform.

    langchain-openai builds the request body as plain JSON data; the SDK's `create` then walks
    it again against its TypedDict annotations and builds a typed `ChatCompletion` that
    langchain-openai dumps straight back to a dict. Measured against a local fake server, those
    two steps were about half of a call's CPU (`bench/orchestration.py`). This resource posts
    the body as it is with the SDK's own client (same URL, headers, auth, errors and raw
    response) and hands back the reply's JSON, which langchain-openai accepts as a dict.
    Streaming and everything else goes to the SDK's resource unchanged.
    """

    def __init__(self, client: openai.AsyncOpenAI, completions: Any) -> None:
        self._client = client
        self._completions = completions
        self.with_raw_response = self

    async def create(self, **payload: Any) -> Any:
        """POST /chat/completions with `payload` as the body; the raw response, as the SDK's."""
        if payload.get("stream"):
            return await self._completions.create(**payload)
        headers = {**(payload.pop("extra_headers", None) or {}), RAW_RESPONSE_HEADER: "true"}
        options: dict[str, Any] = {"headers": headers}
        for option, key in (("extra_body", "extra_json"), ("extra_query", "params")):
            if option in payload:
                options[key] = payload.pop(option)
        if "timeout" in payload:
            options["timeout"] = payload.pop("timeout")
        return await self._client.post(
            "/chat/completions",
            body=payload,
            cast_to=object,
            options=options,  # type: ignore[arg-type]
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._completions, name)


def build_chat_openai(config: ModelConfig, api_key: str) -> ChatOpenAI:
    """The underlying langchain client: SDK retries off, usage reported even when streaming.

    It gets an HTTP client of its own: langchain-openai otherwise shares one per base URL across
    the process, whose pooled connections belong to the event loop that opened them, and a later
    loop (a new `anyio.run`, the next test) then fails with "Event loop is closed". That client
    is the SDK's aiohttp one (`openai.DefaultAioHttpClient`): httpx's connection pool checks
    every pooled connection on each request, which at 64 in flight cost more CPU than the rest
    of a call. Plain completions go through `PayloadAsIs`.
    """
    model = ChatOpenAI(
        http_async_client=openai.DefaultAioHttpClient(timeout=config.timeout_s),
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
    model.async_client = PayloadAsIs(model.root_async_client, model.async_client)
    return model
