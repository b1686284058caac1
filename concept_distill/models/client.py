"""`RoleModel`: one role's chat client, the only place this package calls a model over HTTP.

Every call goes cache -> limits -> `ChatOpenAI` -> retries -> accounting. `ChatOpenAI` is kept (with
the SDK's own retries off) so that LangSmith tracing and LangGraph's `messages` streaming see each
real call; everything around it is done here, once.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping
from typing import Any

import anyio
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import RunnableConfig
from langchain_openai import ChatOpenAI

from concept_distill.errors import ModelError
from concept_distill.models.accounting import Spend, SpendMeter
from concept_distill.models.cache import CachedReply, ReplyCache, cache_key
from concept_distill.models.chat_openai import (
    NO_KEY,
    build_chat_openai,
    close_chat_openai,
    read_api_key,
)
from concept_distill.models.config import ModelConfig
from concept_distill.models.health import RoleHealth
from concept_distill.models.limits import EndpointLimits
from concept_distill.models.messages import MessagesInput, WireMessage, to_wire
from concept_distill.models.redact import display_endpoint, redact
from concept_distill.models.replies import ChatReply, SchemaT, StructuredResult
from concept_distill.models.retry import (
    AttemptFailure,
    RetriesExhausted,
    RetryPolicy,
    call_with_retries,
)
from concept_distill.models.structured import request_structured

log = logging.getLogger("concept_distill.models")
# Retries and failures go wherever the application sends logs (`run` writes run.log); without
# a handler they must not fall through to Python's last-resort handler, which prints on stderr.
log.addHandler(logging.NullHandler())


class RoleModel:
    """A chat model for one role, limited, retried, cached and counted.

    Build one per role (or let `ModelSet` build them so roles on one endpoint share limits and
    a cache). Calls are safe to make concurrently from many tasks.
    """

    def __init__(
        self,
        role: str,
        config: ModelConfig,
        *,
        cache: ReplyCache | None = None,
        limits: EndpointLimits | None = None,
        rng: random.Random | None = None,
        chat_model: BaseChatModel | None = None,
    ) -> None:
        """Build the client; the API key is read from the environment here.

        Args:
            role: role name used in errors and accounting ("student", "teacher", ...).
            config: where and how to call the model.
            cache: response cache shared with other roles; None disables caching.
            limits: the endpoint's shared limits; None gives this role limits of its own.
            rng: randomness for backoff jitter (tests pass a seeded one).
            chat_model: a caller's own LangChain chat model to call instead of building a
                `ChatOpenAI` from `config` (which then only names it and sets limits/retries).

        Raises:
            ConfigError: when `config.api_key_env` names an unset variable.
        """
        self.role = role
        self.config = config
        self.endpoint = display_endpoint(config.base_url)
        if chat_model is None:
            api_key = read_api_key(role, config)
            self._secrets: tuple[str, ...] = (api_key,) if api_key != NO_KEY else ()
            openai = build_chat_openai(config, api_key)
            self._llm: BaseChatModel = openai
            self._openai: ChatOpenAI | None = openai
        else:
            self._secrets, self._llm, self._openai = (), chat_model, None
        self._cache = cache
        self._limits = limits or EndpointLimits(
            max_concurrency=config.max_concurrency,
            requests_per_second=config.requests_per_second,
        )
        self._rng = rng or random.Random()
        self._policy = RetryPolicy.from_config(config)
        self._meter = SpendMeter(
            role,
            model=config.model,
            input_price_per_mtok=config.input_price_per_mtok,
            output_price_per_mtok=config.output_price_per_mtok,
        )
        self._in_flight: dict[str, anyio.Event] = {}
        self._health = RoleHealth(
            role, self.endpoint, max_consecutive_failures=config.max_consecutive_failures
        )

    async def aclose(self) -> None:
        """Close this role's HTTP connections."""
        if self._openai is not None:
            await close_chat_openai(self._openai)

    def __repr__(self) -> str:
        model, endpoint = self.config.model, self.endpoint
        return f"RoleModel(role={self.role!r}, model={model!r}, endpoint={endpoint!r})"

    def spend(self) -> Spend:
        """What this role has used so far."""
        return self._meter.snapshot()

    async def complete(
        self,
        messages: MessagesInput,
        *,
        sample_index: int = 0,
        response_format: Mapping[str, Any] | None = None,
        config: RunnableConfig | None = None,
    ) -> ChatReply:
        """One chat completion, from the cache when this exact request was made before.

        Args:
            messages: the conversation (langchain messages, `(role, text)` tuples or dicts).
            sample_index: which sample this is; with temperature > 0 each index is its own
                cache entry (and gets seed + index when a seed is set).
            response_format: an OpenAI `response_format` to request, e.g. a JSON schema.
            config: a langchain `RunnableConfig` (callbacks, tags) passed to `ChatOpenAI`.

        Raises:
            ModelError: when the endpoint keeps failing; it names role, endpoint and cause.
            ModelUnavailable: when the role's endpoint cannot serve the run (see `RoleHealth`).
        """
        return await self._complete(to_wire(messages), sample_index, response_format, config)

    async def structured(
        self,
        messages: MessagesInput,
        schema: type[SchemaT],
        *,
        sample_index: int = 0,
        config: RunnableConfig | None = None,
    ) -> StructuredResult[SchemaT]:
        """Ask for a reply matching `schema`; repairs once, then records a failure (no raise).

        Raises:
            ModelError: only for endpoint failures, never for a malformed reply.
        """

        async def complete(
            wire: list[WireMessage], response_format: Mapping[str, Any] | None
        ) -> ChatReply:
            return await self._complete(wire, sample_index, response_format, config)

        return await request_structured(
            complete, to_wire(messages), schema, mode=self.config.structured_mode
        )

    async def _complete(
        self,
        wire: list[WireMessage],
        sample_index: int,
        response_format: Mapping[str, Any] | None,
        config: RunnableConfig | None,
    ) -> ChatReply:
        params = self._params(sample_index, response_format)
        sampled = self.config.temperature > 0
        key = cache_key(
            endpoint=self.config.cache_endpoint or self.endpoint,
            model=self.config.model,
            messages=wire,
            params=params,
            sample_index=sample_index if sampled else 0,
        )
        started = time.monotonic()
        hit = await self._lookup(key)
        if hit is not None:
            return self._replay(hit, started)
        if self._cache is None:
            return await self._call(wire, params, key, config, started)
        while (pending := self._in_flight.get(key)) is not None:
            # The same request is already on its way: wait for it rather than pay twice.
            await pending.wait()
            hit = await self._lookup(key)
            if hit is not None:
                return self._replay(hit, started)
        self._in_flight[key] = done = anyio.Event()
        try:
            return await self._call(wire, params, key, config, started)
        finally:
            del self._in_flight[key]
            done.set()

    def _params(
        self, sample_index: int, response_format: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        config = self.config
        params: dict[str, Any] = {
            "temperature": config.temperature,
            "max_tokens": config.max_tokens,
        }
        if config.seed is not None:
            params["seed"] = config.seed + (sample_index if config.temperature > 0 else 0)
        if response_format is not None:
            params["response_format"] = dict(response_format)
        return params

    async def _lookup(self, key: str) -> CachedReply | None:
        return None if self._cache is None else await self._cache.get(key)

    def _replay(self, hit: CachedReply, started: float) -> ChatReply:
        self._meter.cached(
            prompt=hit.prompt_tokens, completion=hit.completion_tokens, started=started
        )
        return ChatReply(
            role=self.role,
            text=hit.text,
            prompt_tokens=hit.prompt_tokens,
            completion_tokens=hit.completion_tokens,
            finish_reason=hit.finish_reason,
            cached=True,
            seconds=time.monotonic() - started,
        )

    async def _call(
        self,
        wire: list[WireMessage],
        params: dict[str, Any],
        key: str,
        config: RunnableConfig | None,
        started: float,
    ) -> ChatReply:
        message, retries = await self._with_retries(wire, params, config, started)
        reply = _reply_from(self.role, message, started).model_copy(update={"retries": retries})
        self._meter.paid(
            prompt=reply.prompt_tokens,
            completion=reply.completion_tokens,
            started=started,
            retries=retries,
        )
        if self._cache is not None:
            stored = CachedReply(
                text=reply.text,
                prompt_tokens=reply.prompt_tokens,
                completion_tokens=reply.completion_tokens,
                finish_reason=reply.finish_reason,
            )
            await self._cache.put(key, self.config.model, stored)
        return reply

    async def _with_retries(
        self,
        wire: list[WireMessage],
        params: dict[str, Any],
        config: RunnableConfig | None,
        started: float,
    ) -> tuple[BaseMessage, int]:
        kwargs: dict[str, Any] = {}
        # A caller's own chat model keeps its own sampling settings: only ChatOpenAI gets these.
        openai = isinstance(self._llm, ChatOpenAI)
        if openai and "seed" in params:
            kwargs["seed"] = params["seed"]
        if openai and "response_format" in params:
            # Through extra_body, not the SDK's parse() path, which raises on a truncated reply
            # instead of letting the structured layer record it.
            kwargs["extra_body"] = {"response_format": params["response_format"]}

        async def attempt() -> BaseMessage:
            return await self._llm.ainvoke(wire, config, **kwargs)

        self._health.check()
        try:
            result = await call_with_retries(
                attempt,
                policy=self._policy,
                limits=self._limits,
                rng=self._rng,
                on_retry=self._log_retry,
            )
        except RetriesExhausted as exhausted:
            self._meter.failed(started=started, retries=exhausted.retries)
            error = self._error(exhausted)
            log.warning("%s", error)
            failure = exhausted.failure
            raise self._health.failed(
                error, fatal=failure.fatal, endpoint_fault=failure.endpoint_fault
            ) from exhausted.__cause__
        self._health.succeeded()
        return result

    def _log_retry(self, failure: AttemptFailure, attempt: int, delay: float) -> None:
        log.info(
            "%s at %s: attempt %d failed (status %s): %s; retrying in %.2fs",
            self.role,
            self.endpoint,
            attempt,
            failure.status if failure.status is not None else "none",
            redact(failure.cause, self._secrets),
            delay,
        )

    def _error(self, exhausted: RetriesExhausted) -> ModelError:
        cause = redact(exhausted.failure.cause, self._secrets)
        if exhausted.wait_refused:
            cause += f" (Retry-After exceeds max_retry_wait_s={self._policy.max_wait_s:g})"
        message = (
            f"{self.role} model {self.config.model!r} at {self.endpoint} failed after "
            f"{exhausted.retries + 1} attempt(s): {cause}"
        )
        return ModelError(message, retryable=exhausted.failure.retryable)


def _reply_from(role: str, message: BaseMessage, started: float) -> ChatReply:
    usage = message.usage_metadata if isinstance(message, AIMessage) else None
    return ChatReply(
        role=role,
        text=message.text,
        prompt_tokens=usage["input_tokens"] if usage else 0,
        completion_tokens=usage["output_tokens"] if usage else 0,
        finish_reason=message.response_metadata.get("finish_reason"),
        cached=False,
        usage_known=usage is not None,
        seconds=time.monotonic() - started,
    )
