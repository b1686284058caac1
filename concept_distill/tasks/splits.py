"""Deterministic train / validation / test splits from a seed and sizes (or fractions)."""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from concept_distill.errors import ConfigError
from concept_distill.records import Example

SplitName = Literal["train", "validation", "test"]
SPLITS: tuple[SplitName, ...] = ("train", "validation", "test")


class SplitConfig(BaseModel):
    """Sizes are example counts (>= 1) or fractions of the data set (< 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(0, description="Shuffling seed; the same seed gives the same splits.")
    train: float = Field(0.4, gt=0, description="Train size: mistakes come from here.")
    validation: float = Field(0.3, gt=0, description="Validation size: rules are accepted here.")
    test: float = Field(0.3, gt=0, description="Held-out test size: only the final report.")
    limit: int | None = Field(None, ge=3, description="Use only this many examples in all.")

    @model_validator(mode="after")
    def _fractions_fit(self) -> SplitConfig:
        sizes = (self.train, self.validation, self.test)
        if all(size < 1 for size in sizes) and sum(sizes) > 1 + 1e-9:
            raise ValueError("train + validation + test fractions add up to more than 1")
        return self


def make_splits(examples: list[Example], config: SplitConfig) -> dict[SplitName, list[Example]]:
    """Shuffle ids with the seed and cut; ConfigError when a split would be empty or too big."""
    ordered = sorted(examples, key=lambda example: example.id)
    if len({example.id for example in ordered}) != len(ordered):
        raise ConfigError("the data set has duplicate example ids")
    random.Random(config.seed).shuffle(ordered)
    pool = ordered[: config.limit] if config.limit else ordered
    sizes = [_size(value, len(pool)) for value in (config.train, config.validation, config.test)]
    if sum(sizes) > len(pool):
        raise ConfigError(f"splits need {sum(sizes)} examples but the data set has {len(pool)}")
    result: dict[SplitName, list[Example]] = {}
    start = 0
    for name, size in zip(SPLITS, sizes, strict=True):
        if size == 0:
            raise ConfigError(f"the {name} split is empty; make it larger")
        result[name] = pool[start : start + size]
        start += size
    return result


def _size(value: float, total: int) -> int:
    return int(value) if value >= 1 else round(value * total)


def split_assignment(splits: dict[SplitName, list[Example]]) -> dict[str, list[str]]:
    """Ids per split, to save with a run."""
    return {name: [example.id for example in examples] for name, examples in splits.items()}
