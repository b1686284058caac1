"""Deterministic train / validation / test splits from a seed and sizes (or fractions).

Before shuffling, reserved examples are set aside (`exclude`) and repeated questions are kept once
(`dedupe`), so that no split holds a reserved problem or the same problem twice.
"""

from __future__ import annotations

import itertools
import random
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from concept_distill.errors import ConfigError
from concept_distill.records import Example

SplitName = Literal["train", "validation", "test", "dev"]
SPLITS: tuple[SplitName, ...] = ("train", "validation", "test", "dev")
"""In the order they are cut from the shuffled pool: `dev` last, so adding one leaves the
others as they were."""
_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")


class Exclusion(BaseModel):
    """Examples no split may hold (data reserved for a later check), set aside before shuffling.

    In YAML: `exclude: {last: 300}` (the data file's last 300 items), `exclude: {ids: [a, b]}`,
    both together, or the shorthand `exclude: [a, b]` for ids.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    last: int = Field(
        0, ge=0, description="The last N examples in data-file order (the order the task loads)."
    )
    ids: list[str] = Field(default_factory=list, description="These example ids.")

    @model_validator(mode="before")
    @classmethod
    def _ids_shorthand(cls, data: Any) -> Any:
        return {"ids": data} if isinstance(data, list) else data


class SplitConfig(BaseModel):
    """Sizes are example counts (>= 1) or fractions of the data set (< 1).

    Fractions are of the examples left after `exclude` and `dedupe`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    seed: int = Field(0, description="Shuffling seed; the same seed gives the same splits.")
    train: float = Field(0.4, gt=0, description="Train size: mistakes come from here.")
    validation: float = Field(0.3, gt=0, description="Validation size: rules are accepted here.")
    test: float = Field(0.3, gt=0, description="Held-out test size: only the final report.")
    dev: float = Field(
        0,
        ge=0,
        description=(
            "Dev size (0: none): for choosing settings (token cap, placement, rule form...) with "
            "`eval --split dev`, never validation or test. The loop never reads it."
        ),
    )
    limit: int | None = Field(None, ge=3, description="Use only this many examples in all.")
    exclude: Exclusion = Field(
        default_factory=Exclusion,
        description="Reserved examples, set aside before shuffling: `{last: N}`, `{ids: [...]}`.",
    )
    dedupe: bool = Field(
        True,
        description=(
            "Keep only the first example of each question text (compared lower-cased, "
            "spacing ignored): MultiArith repeats 20 questions. A question that "
            "repeats an excluded one is dropped too."
        ),
    )

    @model_validator(mode="after")
    def _fractions_fit(self) -> SplitConfig:
        sizes = (self.train, self.validation, self.test, self.dev)
        if all(size < 1 for size in sizes) and sum(sizes) > 1 + 1e-9:
            raise ValueError("train + validation + test + dev fractions add up to more than 1")
        return self


def make_splits(examples: list[Example], config: SplitConfig) -> dict[SplitName, list[Example]]:
    """Set aside excluded and repeated examples, shuffle ids with the seed and cut.

    `examples` in data-file order (as `Task.load` returns them): `exclude.last` counts from its
    end. Otherwise the order does not matter. ConfigError when an excluded id does not exist, or a
    split would be empty or too big.
    """
    ordered = sorted(examples, key=lambda example: example.id)
    for before, after in itertools.pairwise(ordered):
        if before.id == after.id:
            raise ConfigError(f"the data set has duplicate example id {before.id!r}")
    kept = usable_examples(examples, config)
    ordered = sorted(kept, key=lambda example: example.id)
    random.Random(config.seed).shuffle(ordered)
    pool = ordered[: config.limit] if config.limit else ordered
    fractions = (config.train, config.validation, config.test, config.dev)
    sizes = [_size(value, len(pool)) for value in fractions]
    if sum(sizes) > len(pool):
        removed = len(examples) - len(kept)
        aside = f" ({removed} excluded or repeated set aside)" if removed else ""
        raise ConfigError(
            f"splits need {sum(sizes)} examples but the data set has {len(pool)}{aside}"
        )
    result: dict[SplitName, list[Example]] = {}
    start = 0
    for name, size in zip(SPLITS, sizes, strict=True):
        if size == 0 and name != "dev":
            raise ConfigError(f"the {name} split is empty; make it larger")
        result[name] = pool[start : start + size]
        start += size
    return result


def usable_examples(examples: list[Example], config: SplitConfig) -> list[Example]:
    """The examples splits may draw from, in the given order: not excluded, not a repeat."""
    reserved = reserved_ids(examples, config.exclude)
    if not config.dedupe:
        return [example for example in examples if example.id not in reserved]
    seen = {question_key(e.question) for e in examples if e.id in reserved}
    kept = []
    for example in examples:
        key = question_key(example.question)
        if example.id not in reserved and key not in seen:
            kept.append(example)
        seen.add(key)
    return kept


def reserved_ids(examples: list[Example], exclusion: Exclusion) -> set[str]:
    """The ids `exclusion` names in `examples` (data-file order); ConfigError on an unknown id."""
    if exclusion.last > len(examples):
        raise ConfigError(
            f"splits.exclude.last is {exclusion.last} but the data set has {len(examples)} examples"
        )
    known = {example.id for example in examples}
    for example_id in exclusion.ids:
        if example_id not in known:
            raise ConfigError(
                f"splits.exclude: no example has id {example_id!r} "
                f"(ids look like {examples[0].id!r})"
            )
    tail = examples[len(examples) - exclusion.last :] if exclusion.last else []
    return {example.id for example in tail} | set(exclusion.ids)


def question_key(question: str) -> str:
    """The question text as `dedupe` compares it: lower-cased, spacing ignored.

    Punctuation counts: HumanEval/56 and /61 differ only in their brackets ("<>" vs "()").
    MultiArith's 20 repeats are the same with or without it.
    """
    return " ".join(question.casefold().split())


def _size(value: float, total: int) -> int:
    return int(value) if value >= 1 else round(value * total)


def split_assignment(splits: dict[SplitName, list[Example]]) -> dict[str, list[str]]:
    """Ids per split, to save with a run."""
    return {name: [example.id for example in examples] for name, examples in splits.items()}
