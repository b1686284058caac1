"""`build_graph`: wire the nodes into a LangGraph StateGraph; routing is visible here."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from concept_distill.agents.student import Student
from concept_distill.agents.teacher import Teacher
from concept_distill.agents.verifier import Verifier
from concept_distill.config import Config
from concept_distill.graph.nodes import DistillNodes
from concept_distill.graph.services import Services
from concept_distill.graph.state import DistillInput, DistillOutput, DistillState, InduceInput

Graph = CompiledStateGraph[Any, Any, Any, Any]


def build_graph(
    config: Config,
    *,
    student: Student | None = None,
    teacher: Teacher | None = None,
    verifier: Verifier | None = None,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    run_dir: Path | None = None,
    services: Services | None = None,
) -> Graph:
    """Build and compile the distillation graph; nothing connects until it runs.

    Agents not given are made from the config on first use. The compiled graph can be invoked
    directly or added as a node of a parent graph, which reads `optimized_prompt`, `rules` and
    `metrics` from its output.
    """
    services = services or Services(
        config, run_dir=run_dir, student=student, teacher=teacher, verifier=verifier
    )
    nodes = DistillNodes(services, config.acceptance.build())
    builder = StateGraph(DistillState, input_schema=DistillInput, output_schema=DistillOutput)
    builder.add_node("prepare", nodes.prepare)
    builder.add_node("initialize", nodes.initialize)
    builder.add_node("select", nodes.select)
    # The teacher branch takes its Send payload (InduceInput), not the whole state.
    builder.add_node("induce", cast(Any, nodes.induce), input_schema=InduceInput)
    builder.add_node("validate", nodes.validate)
    builder.add_node("update", nodes.update)
    builder.add_node("test", nodes.test)
    builder.add_node("report", nodes.report)
    builder.add_edge(START, "prepare")
    builder.add_edge("prepare", "initialize")
    builder.add_edge("initialize", "select")
    builder.add_conditional_edges("select", nodes.fan_out, ["induce", "test"])
    builder.add_edge("induce", "validate")
    builder.add_edge("validate", "update")
    builder.add_conditional_edges("update", nodes.route, {"select": "select", "test": "test"})
    builder.add_edge("test", "report")
    builder.add_edge("report", END)
    return builder.compile(checkpointer=checkpointer, name="concept-distill")
