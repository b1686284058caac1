"""`ModelSet`: the role models of one run, built together so they share a cache and limits."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from concept_distill.models.accounting import SpendReport
from concept_distill.models.cache import ReplyCache, ResponseCache
from concept_distill.models.client import RoleModel
from concept_distill.models.config import ModelConfig
from concept_distill.models.limits import LimitsRegistry
from concept_distill.models.protocol import ChatRole


class ModelSet(Mapping[str, RoleModel]):
    """Role name -> `RoleModel`; roles on the same endpoint share one set of limits.

    Use `async with ModelSet(configs, cache_path=...) as models:` so the cache is closed.
    """

    def __init__(
        self,
        configs: Mapping[str, ModelConfig],
        *,
        cache_path: str | Path | None = None,
        cache: ReplyCache | None = None,
    ) -> None:
        """Build one client per role (reading API keys from the environment now).

        Args:
            configs: model config by role name.
            cache_path: SQLite file of the response cache; None disables caching.
            cache: a response cache to use instead (closed with the set); wins over cache_path.

        Raises:
            ConfigError: when a role's `api_key_env` names an unset variable.
        """
        self.cache: ReplyCache | None = cache
        if cache is None and cache_path is not None:
            self.cache = ResponseCache(cache_path)
        registry = LimitsRegistry()
        limits = {role: registry.for_config(config) for role, config in configs.items()}
        self._models = {
            role: RoleModel(role, config, cache=self.cache, limits=limits[role])
            for role, config in configs.items()
        }

    def __getitem__(self, role: str) -> RoleModel:
        return self._models[role]

    def __iter__(self) -> Iterator[str]:
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)

    def __repr__(self) -> str:
        return f"ModelSet({list(self._models.values())!r})"

    def spend(self) -> SpendReport:
        """Spend of every role so far."""
        return SpendReport(roles={role: model.spend() for role, model in self._models.items()})

    async def aclose(self) -> None:
        """Close the response cache and every role's HTTP connections."""
        if self.cache is not None:
            await self.cache.aclose()
        for model in self._models.values():
            await model.aclose()

    async def __aenter__(self) -> ModelSet:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


if TYPE_CHECKING:

    def _conforms(model: RoleModel) -> ChatRole:
        return model
