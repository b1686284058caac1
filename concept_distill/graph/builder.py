"""`build_graph`: the wiring of the distillation graph, read top to bottom; routing is visible here.

```
START -> prepare -> initialize -> select -> induce (one branch per batch, Send) -> validate
      -> update -> (select | audit) -> test -> report -> END
```
"""

from __future__ import annotations

from typing import Any, cast

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from concept_distill.agents.contracts import Student, Teacher, Verifier
from concept_distill.config import Config
from concept_distill.graph.nodes import DistillNodes
from concept_distill.graph.resources import RoleInput
from concept_distill.graph.scope import DistillContext, GraphSetup, closing_on_failure
from concept_distill.graph.state import DistillInput, DistillOutput, DistillState, InduceInput
from concept_distill.loop.stopping import default_conditions
from concept_distill.models.ledger import Budget

Graph = CompiledStateGraph[Any, Any, Any, Any]


def build_graph(
    config: Config,
    *,
    student: Student | RoleInput | None = None,
    teacher: Teacher | RoleInput | None = None,
    verifier: Verifier | None = None,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
) -> Graph:
    """Build and compile the distillation graph; nothing connects until it is invoked.

    Each role may be given as a ready agent, a LangChain chat model (`ChatModelRole` names it
    for the cache), or any `ChatRole`; the config then needs no endpoint for it. The compiled
    graph can be invoked many times, concurrently on different threads, directly or as a node
    of a parent graph (which reads `optimized_prompt`, `rules`, `metrics`, `run_dir`). Pass
    `context=DistillContext(resources=...)` to run on resources you opened; without it, each
    invocation opens its own and closes them when it ends. A new input on a thread that has
    finished starts a fresh run in a fresh directory; `None` resumes an unfinished one.
    """
    loop = config.loop
    nodes = DistillNodes(
        setup=GraphSetup(config, student=student, teacher=teacher, verifier=verifier),
        policy=config.acceptance.build(),
        stop_conditions=default_conditions(
            patience=loop.patience,
            max_iterations=loop.max_iterations,
            budget=Budget.model_validate(config.budget.model_dump()),
        ),
    )

    def run_dir_of(state: Any) -> str | None:
        return state.get("run_dir") if isinstance(state, dict) else None

    def node(function: Any) -> Any:
        return closing_on_failure(function, run_dir_of)

    builder = StateGraph(
        DistillState,
        context_schema=DistillContext,
        input_schema=DistillInput,
        output_schema=DistillOutput,
    )
    builder.add_node("prepare", node(nodes.prepare))
    builder.add_node("initialize", node(nodes.initialize))
    builder.add_node("select", node(nodes.select))
    # A teacher branch takes its Send payload (InduceInput), not the whole state.
    builder.add_node("induce", cast(Any, node(nodes.induce)), input_schema=InduceInput)
    builder.add_node("validate", node(nodes.validate))
    builder.add_node("update", node(nodes.update))
    builder.add_node("audit", node(nodes.audit))
    builder.add_node("test", node(nodes.test))
    builder.add_node("report", node(nodes.report))

    builder.add_edge(START, "prepare")
    builder.add_edge("prepare", "initialize")
    builder.add_conditional_edges("initialize", nodes.after_initialize, ["select", "audit"])
    builder.add_conditional_edges("select", nodes.fan_out, ["induce", "audit"])
    builder.add_edge("induce", "validate")
    builder.add_edge("validate", "update")
    builder.add_conditional_edges("update", nodes.route, ["select", "audit"])
    builder.add_edge("audit", "test")
    builder.add_edge("test", "report")
    builder.add_edge("report", END)
    return builder.compile(checkpointer=checkpointer, name="concept-distill")
