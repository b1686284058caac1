"""Embedding the distillation graph in a parent LangGraph app, as a subgraph node.

The parent shares the keys `optimized_prompt`, `rules`, `metrics` and `run_dir` with the
distillation graph's output schema, so it reads them back after the node runs; rules arrive as
JSON (`Rule.model_validate` turns one into a record) and merge by id, so the parent never sees a
rule twice. The subgraph opens its own resources and closes them when it ends, so the parent
can be invoked again. Run it with `python examples/embed_subgraph.py CONFIG.yaml`.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any, TypedDict

import anyio
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from concept_distill import Rule, build_graph, load_config
from concept_distill.config import Config
from concept_distill.graph.state import merge_rules


class AppState(TypedDict, total=False):
    """The parent app's state: its own keys plus the ones it reads from distillation."""

    optimized_prompt: str
    rules: Annotated[list[dict[str, Any]], merge_rules]
    metrics: dict[str, Any]
    run_dir: str
    deployed: str


def deploy(state: AppState) -> AppState:
    """Stand-in for the app's own step: here, just announce the prompt it would ship."""
    rules = [Rule.model_validate(rule) for rule in state.get("rules", [])]
    accepted = [rule for rule in rules if rule.status == "accepted"]
    return {"deployed": f"{len(accepted)} rule(s): {state.get('optimized_prompt', '')}"}


def build_app(config: Config, **agents: Any) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The parent graph: distill, then deploy."""
    parent = StateGraph(AppState)
    parent.add_node("distill", build_graph(config, **agents))
    parent.add_node("deploy", deploy)
    parent.add_edge(START, "distill")
    parent.add_edge("distill", "deploy")
    parent.add_edge("deploy", END)
    return parent.compile()


async def main(path: str) -> None:
    """Run the app on a config file and print what it would deploy."""
    app = build_app(load_config(path))
    final = await app.ainvoke({})
    print(final["deployed"])


if __name__ == "__main__":
    anyio.run(main, sys.argv[1])
