"""The graph's state: a TypedDict whose values are plain data and the records of `records.py`.

`rules` is merged by rule id, so parallel teacher branches and a parent graph re-applying the
key (a subgraph writes back its whole value) never duplicate a rule.
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from concept_distill.records import ExampleResult, Rule


def merge_rules(old: list[Rule] | None, new: list[Rule] | None) -> list[Rule]:
    """Union by id; a newer record of the same id replaces the older one, order kept."""
    merged = {rule.id: rule for rule in old or []}
    for rule in new or []:
        merged[rule.id] = rule
    return list(merged.values())


class DistillInput(TypedDict, total=False):
    """What a caller may pass in: nothing, or a base prompt that replaces the config's."""

    base_prompt: str


class DistillOutput(TypedDict, total=False):
    """What a parent graph reads back."""

    optimized_prompt: str
    rules: Annotated[list[Rule], merge_rules]
    metrics: dict[str, Any]


class DistillState(TypedDict, total=False):
    """Everything the loop carries from node to node."""

    base_prompt: str
    optimized_prompt: str
    rules: Annotated[list[Rule], merge_rules]
    metrics: dict[str, Any]
    phase: str
    iteration: int
    accepted: list[str]
    validation: dict[str, bool]
    mistakes: dict[str, ExampleResult]
    shown: list[str]
    batches: list[list[str]]
    round_accepted: int
    idle_rounds: int
    stop_reason: str
    history: list[dict[str, Any]]


class InduceInput(TypedDict):
    """The payload one teacher branch receives through `Send`."""

    iteration: int
    batch_index: int
    prompt: str
    mistake_ids: list[str]
    mistakes: dict[str, ExampleResult]
    existing: list[str]
