"""The graph factory `langgraph.json` names, for `langgraph dev`, LangGraph Studio and Server.

The config file comes from $CONCEPT_DISTILL_CONFIG (default: configs/demo.yaml). The graph is
compiled without a checkpointer (the server brings its own) and runs without a caller-owned
context: each invocation opens its own resources and closes them when it ends (see
`graph/scope.py`), so the server may invoke it many times, concurrently on different threads.
"""

from __future__ import annotations

import os
from typing import Any

from langchain_core.runnables import RunnableConfig

from concept_distill.config import load_config
from concept_distill.graph.builder import Graph, build_graph

CONFIG_ENV = "CONCEPT_DISTILL_CONFIG"


def make_graph(config: RunnableConfig | None = None) -> Graph:
    """Build the distillation graph from the config file the environment names."""
    path = os.environ.get(CONFIG_ENV, "configs/demo.yaml")
    settings: Any = load_config(path)
    return build_graph(settings)
