"""The graph's state: plain JSON data only, validated into records at node boundaries.

Keeping records as their JSON form lets any checkpointer (ours, an embedding app's, LangGraph
Server's) round-trip the state with strict msgpack and no "unregistered type" warning. The
optimized prompt is not carried: it is derived from the base prompt and the accepted rules in
acceptance order, and written once, as output, when the run ends.
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from langgraph.types import Overwrite

from concept_distill.records import ExampleResult, IterationRecord, Rule, RunMetrics

JsonRecord = dict[str, Any]


def merge_rules(old: list[JsonRecord] | None, new: list[JsonRecord] | None) -> list[JsonRecord]:
    """Union by rule id; a newer record of an id replaces the older one, first-seen order kept.

    Parallel teacher branches and a parent graph writing back a subgraph's whole value never
    duplicate a rule. A new run on a finished thread replaces the ledger with `Overwrite`.
    """
    merged = {rule["id"]: rule for rule in old or []}
    for rule in new or []:
        merged[rule["id"]] = rule
    return list(merged.values())


class DistillInput(TypedDict, total=False):
    """What a caller may pass in: nothing, or a base prompt that replaces the config's."""

    base_prompt: str
    """The student's system prompt to start from; default: `prompt.base` of the config."""


class DistillOutput(TypedDict, total=False):
    """What a caller or a parent graph reads back when the run ends."""

    optimized_prompt: str
    """The base prompt followed by the accepted rules, in acceptance order."""
    rules: Annotated[list[JsonRecord], merge_rules]
    """Every candidate rule (`Rule` as JSON) with its status and evidence."""
    metrics: JsonRecord
    """`RunMetrics` as JSON: test accuracies, paired difference, spend, stop reason."""
    run_dir: str
    """The run directory: config, splits, results, optimized prompt, rule ledger, report."""
    report_path: str
    """The HTML report in the run directory."""


class DistillState(TypedDict, total=False):
    """Everything the loop carries from node to node (and checkpoints)."""

    run_dir: str
    """Chosen and created on the thread's first invocation; a resume reopens it."""
    base_prompt: str
    """The prompt the rules are appended to."""
    rules: Annotated[list[JsonRecord], merge_rules]
    """The rule ledger: every candidate `Rule` (JSON), merged by id."""
    accepted_rule_ids: list[str]
    """Ids of the rules in the incumbent prompt, in acceptance order."""
    incumbent_validation: dict[str, bool]
    """The incumbent prompt's correctness on validation, by example id (unjudged left out)."""
    incumbent_reply_tokens: dict[str, int]
    """The incumbent prompt's reply length on validation, by example id (to flag shortening)."""
    train_mistakes: dict[str, JsonRecord]
    """Train examples the incumbent prompt still gets wrong (`ExampleResult` JSON)."""
    shown_to_teacher: list[str]
    """Train example ids already shown to the teacher (never shown twice)."""
    batches: list[list[str]]
    """This round's batches of mistakes, one teacher call each."""
    iteration: int
    """Rounds completed."""
    idle_rounds: int
    """Rounds in a row that accepted nothing."""
    stop_reason: str
    """Why the loop stopped; computed once, by the stop policy."""
    history: list[JsonRecord]
    """`IterationRecord`s: validation accuracy per round."""
    metrics: JsonRecord
    """`RunMetrics` as JSON, filled in as the run measures."""
    spend: JsonRecord
    """`RunTotals` as JSON at the last node boundary (the ledger file is the durable record)."""
    optimized_prompt: str
    """Written when the run ends (derived; see module docstring)."""
    report_path: str
    """Written when the run ends."""


class InduceInput(TypedDict):
    """The payload one teacher branch receives through `Send`."""

    run_dir: str
    iteration: int
    batch_index: int
    prompt: str
    mistake_ids: list[str]
    mistakes: dict[str, JsonRecord]
    existing: list[str]


def rules_of(state: DistillState) -> list[Rule]:
    """The rule ledger as records."""
    return [Rule.model_validate(rule) for rule in state.get("rules", [])]


def accepted_rules(state: DistillState) -> list[Rule]:
    """The rules in the incumbent prompt, in acceptance order."""
    by_id = {rule.id: rule for rule in rules_of(state)}
    return [by_id[rule_id] for rule_id in state.get("accepted_rule_ids", [])]


def mistakes_of(state: DistillState) -> dict[str, ExampleResult]:
    """The remaining train mistakes as records."""
    return {
        example_id: ExampleResult.model_validate(result)
        for example_id, result in state.get("train_mistakes", {}).items()
    }


def metrics_of(state: DistillState) -> RunMetrics:
    """The metrics so far as a record."""
    return RunMetrics.model_validate(state.get("metrics", {}))


def history_of(state: DistillState) -> list[IterationRecord]:
    """The per-round history as records."""
    return [IterationRecord.model_validate(row) for row in state.get("history", [])]


def as_json(record: Any) -> JsonRecord:
    """A record's JSON form for the state."""
    data: JsonRecord = record.model_dump(mode="json")
    return data


def reset_rules() -> Overwrite:
    """An empty rule ledger that bypasses the merge (a new run on a finished thread)."""
    return Overwrite([])
