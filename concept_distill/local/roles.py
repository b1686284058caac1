"""The roles a config marks `local`, as endpoint configs on their embedded llama-servers.

Each local model gets a llama-server of its own rather than one router process for all of
them: the router proxies every request to a child server and now and then drops a connection
mid-reply (measured: 4 student retries in a 98-reply demo, each one a whole reply generated
again), and an idle server costs nothing beside a busy one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from concept_distill.models import ModelConfig

if TYPE_CHECKING:
    from concept_distill.config import LocalRole, LocalServerConfig


def server_arguments(server: LocalServerConfig) -> dict[str, Any]:
    """The `LlamaServer` keyword arguments a config's `local_server` section asks for."""
    return {
        "cache_dir": server.cache_dir,
        "parallel": server.parallel,
        "ctx_per_slot": server.ctx_per_slot,
        "threads": server.threads,
        "extra_args": ("--poll", str(server.poll), *server.extra_args),
    }


def local_role_configs(
    base_urls: Mapping[str, str], roles: Mapping[str, LocalRole], server: LocalServerConfig
) -> dict[str, ModelConfig]:
    """Each local role as an endpoint config on the server of its model (`base_urls[key]`)."""
    return {
        role: ModelConfig(
            base_url=base_urls[spec.local],
            model=spec.local,
            temperature=spec.temperature,
            max_tokens=spec.max_tokens,
            timeout_s=spec.timeout_s,
            max_concurrency=min(spec.max_concurrency, server.parallel),
            seed=spec.seed,
            cache_endpoint="local",
        )
        for role, spec in roles.items()
    }
