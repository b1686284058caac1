"""How one model role (student or teacher) reaches its endpoint: one `ModelConfig` per role.

The config names the environment variable that holds the API key, never the key itself, so a
config can be printed, logged and saved with a run without leaking a secret.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

StructuredMode = Literal["json_schema", "json_object", "prompt"]
"""How `structured()` asks for JSON: a schema in `response_format` (llama-server, OpenAI, vLLM,
Ollama), a bare `{"type": "json_object"}` (servers that reject json_schema, such as
llama-cpp-python's), or only by instructions in the prompt."""


class ModelConfig(BaseModel):
    """One role's model: where it is served, how it samples, and how hard it may be pushed."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    base_url: str = Field(
        description="OpenAI-compatible base URL ending in /v1, e.g. http://127.0.0.1:8080/v1."
    )
    model: str = Field(description="Model id or alias the endpoint serves, sent as `model`.")
    api_key_env: str | None = Field(
        default=None,
        description=(
            "NAME of the environment variable holding the API key (read when the client is "
            "built, never stored). None for local servers that need no key."
        ),
    )
    temperature: float = Field(
        default=0.0, ge=0.0, le=2.0, description="Sampling temperature; 0 means greedy."
    )
    max_tokens: int | None = Field(
        default=1024, gt=0, description="Upper bound on generated tokens per reply."
    )
    timeout_s: float = Field(
        default=120.0, gt=0, description="Hard wall-clock limit on one HTTP attempt, in seconds."
    )
    max_concurrency: int = Field(
        default=4,
        ge=1,
        description=(
            "Requests in flight at once to this endpoint; roles sharing an endpoint share the "
            "limit and the smallest value wins."
        ),
    )
    requests_per_second: float | None = Field(
        default=None,
        gt=0,
        description="Request rate cap for this endpoint (shared like max_concurrency); None: none.",
    )
    max_retries: int = Field(
        default=4,
        ge=0,
        description="Retries after the first attempt on 429, 5xx, timeouts and connection errors.",
    )
    retry_backoff_s: float = Field(
        default=0.5,
        ge=0,
        description="First backoff delay; it doubles per retry and gets random jitter.",
    )
    max_consecutive_failures: int = Field(
        default=10,
        ge=1,
        description=(
            "Calls of this role in a row that fail after their retries before the run stops as "
            "a system failure (exit 1); fewer are recorded per example. A refused key or an "
            "unknown model (HTTP 401/403/404), or an endpoint whose first call fails through "
            "all its retries (unreachable, time-outs, 5xx), stops the run at once."
        ),
    )
    max_retry_wait_s: float = Field(
        default=60.0,
        gt=0,
        description=(
            "Longest single wait between attempts; a Retry-After above it ends the retries "
            "(the error is then marked retryable)."
        ),
    )
    input_price_per_mtok: float | None = Field(
        default=None, ge=0, description="Price in USD per million prompt tokens; None: no cost."
    )
    output_price_per_mtok: float | None = Field(
        default=None, ge=0, description="Price in USD per million completion tokens; None: no cost."
    )
    seed: int | None = Field(
        default=None,
        description=(
            "Sampling seed sent to the endpoint; with temperature > 0, sample i sends seed + i "
            "so repeated samples differ but stay reproducible."
        ),
    )
    cache_endpoint: str | None = Field(
        default=None,
        description=(
            "How the response cache names this endpoint; None: the base URL. Embedded local "
            "servers get a new port every run, so they are named by their model instead."
        ),
    )
    structured_mode: StructuredMode = Field(
        default="json_schema",
        description="How structured output is requested (see StructuredMode).",
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        # Checked here so a typo stops the run before any call, not as a connection error per
        # example. The URL itself is not echoed: it may carry credentials.
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL, e.g. http://127.0.0.1:8080/v1")
        try:
            parts.port  # noqa: B018 - parsing the port validates it
        except ValueError as error:
            raise ValueError(f"bad port ({error})") from None
        if not parts.hostname:
            raise ValueError("has no host, e.g. http://127.0.0.1:8080/v1")
        return value.strip()
