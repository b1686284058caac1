"""Serve the roles a config marks `local` from one embedded llama-server, as ModelConfigs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from concept_distill.local.server import LlamaServer
from concept_distill.models import ModelConfig

if TYPE_CHECKING:
    from concept_distill.config import LocalRole, LocalServerConfig


@asynccontextmanager
async def serve_local_roles(
    roles: Mapping[str, LocalRole], server: LocalServerConfig
) -> AsyncIterator[dict[str, ModelConfig]]:
    """Start one server for every local model the roles name; yield each role's endpoint."""
    keys = sorted({spec.local for spec in roles.values()})
    async with LlamaServer(
        keys,
        cache_dir=server.cache_dir,
        parallel=server.parallel,
        ctx_per_slot=server.ctx_per_slot,
        threads=server.threads,
    ) as running:
        yield local_role_configs(running.base_url, roles, server)


def local_role_configs(
    base_url: str, roles: Mapping[str, LocalRole], server: LocalServerConfig
) -> dict[str, ModelConfig]:
    """Each local role as an endpoint config on the running server at `base_url`."""
    return {
        role: ModelConfig(
            base_url=base_url,
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
