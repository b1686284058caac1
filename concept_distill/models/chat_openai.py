"""The `ChatOpenAI` underneath each role, and the API key it is given (read late, kept hidden)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import aiohttp
import httpx2
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


class PayloadAsIs:
    """The chat-completions resource langchain-openai calls, posting its payload with aiohttp.

    langchain-openai builds the request body as plain JSON data and reads the reply from a
    dict; between the two, the openai SDK walks the body again against its TypedDict
    annotations, builds httpx request and response objects and a typed `ChatCompletion` that
    langchain-openai dumps straight back to a dict. Against a local fake server at 64 calls in
    flight that was about two thirds of a call's CPU (`bench/orchestration.py`). This resource
    posts the body as it is on the role's own aiohttp session and hands the reply's JSON back;
    failures are raised as the SDK's exception types (status errors by status, connection
    errors, time-outs), so langchain-openai and the retry layer see what the SDK would raise.
    Streaming and every other resource method go to the SDK unchanged.
    """

    def __init__(self, config: ModelConfig, api_key: str, completions: Any) -> None:
        self._url = config.base_url.rstrip("/") + "/chat/completions"
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self._timeout = aiohttp.ClientTimeout(
            sock_connect=config.timeout_s, sock_read=config.timeout_s
        )
        self._completions = completions
        self._session: aiohttp.ClientSession | None = None
        self.with_raw_response = self

    async def create(self, **payload: Any) -> Any:
        """POST /chat/completions with `payload` as the body; the reply, as a raw response."""
        if payload.get("stream"):
            return await self._completions.create(**payload)
        headers = {**self._headers, **(payload.pop("extra_headers", None) or {})}
        params = payload.pop("extra_query", None)
        payload.pop("timeout", None)  # the role's timeout_s applies, as for the SDK's client
        payload.update(payload.pop("extra_body", None) or {})
        if self._session is None:
            # Created on first use, in the loop that uses it; the role's limits bound the
            # connections, so the connector adds no limit of its own.
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        try:
            async with self._session.post(
                self._url,
                data=json.dumps(payload),
                headers=headers,
                params=params,
                timeout=self._timeout,
            ) as response:
                body = await response.read()
        except TimeoutError as error:
            raise openai.APITimeoutError(request=self._request()) from error
        except aiohttp.ClientError as error:
            message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            raise openai.APIConnectionError(message=message, request=self._request()) from error
        if response.status >= 400:
            raise self._status_error(response, body)
        return RawReply(response.headers, body)

    async def aclose(self) -> None:
        """Close the session (and its connections), if one was opened."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _request(self) -> httpx2.Request:
        return httpx2.Request("POST", self._url)

    def _status_error(self, response: aiohttp.ClientResponse, body: bytes) -> openai.APIStatusError:
        text = body.decode("utf-8", "replace")
        try:
            data: Any = json.loads(text)
        except ValueError:
            data = text or None
        error = data.get("error", data) if isinstance(data, dict) else data
        kind = _STATUS_ERRORS.get(response.status)
        if kind is None:
            kind = openai.InternalServerError if response.status >= 500 else openai.APIStatusError
        http = httpx2.Response(
            response.status,
            headers=list(response.headers.items()),
            content=body,
            request=self._request(),
        )
        return kind(f"Error code: {response.status} - {data}", response=http, body=error)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._completions, name)


class RawReply:
    """What langchain-openai reads of a raw response: its headers, and `parse()` of the body.

    Like the SDK's: a JSON body gives its data (malformed JSON raises `JSONDecodeError`), any
    other content type gives the text, which langchain-openai refuses as an unusable reply.
    """

    def __init__(self, headers: Mapping[str, str], body: bytes) -> None:
        self.headers = headers
        self.body = body

    def parse(self) -> Any:
        """The reply's JSON data, or its text when it is not JSON."""
        content_type = self.headers.get("Content-Type", "*").split(";")[0]
        text = self.body.decode("utf-8", "replace")
        return json.loads(text) if content_type.endswith("json") else text


_STATUS_ERRORS: dict[int, type[openai.APIStatusError]] = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    403: openai.PermissionDeniedError,
    404: openai.NotFoundError,
    409: openai.ConflictError,
    422: openai.UnprocessableEntityError,
    429: openai.RateLimitError,
}


def build_chat_openai(config: ModelConfig, api_key: str) -> ChatOpenAI:
    """The underlying langchain client: SDK retries off, usage reported even when streaming.

    It gets an HTTP client of its own: langchain-openai otherwise shares one per base URL across
    the process, whose pooled connections belong to the event loop that opened them, and a later
    loop (a new `anyio.run`, the next test) then fails with "Event loop is closed". Plain
    completions (every call the roles make) go through `PayloadAsIs` instead.
    """
    model = ChatOpenAI(
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
    model.async_client = PayloadAsIs(config, api_key, model.async_client)
    return model


async def close_chat_openai(model: ChatOpenAI) -> None:
    """Close what `build_chat_openai` opened: the aiohttp session and the SDK's HTTP client."""
    if isinstance(model.async_client, PayloadAsIs):
        await model.async_client.aclose()
    if model.http_async_client is not None:
        await model.http_async_client.aclose()
