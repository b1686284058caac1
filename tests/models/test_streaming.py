"""LangGraph's `messages` stream mode makes ChatOpenAI stream; the layer must still count usage."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypedDict

import pytest
from langgraph.graph import END, START, StateGraph

from concept_distill.models import ModelConfig, RoleModel
from concept_distill.testing import Action, EmptyChoices, Fail, FakeOpenAIServer, Reply, Reset

pytestmark = pytest.mark.anyio
ConfigFactory = Callable[..., ModelConfig]


class State(TypedDict):
    question: str
    answer: str


async def test_graph_message_streaming_reaches_the_endpoint_and_is_counted(
    server: FakeOpenAIServer, make_config: ConfigFactory
):
    server.add_script(Reply("the answer is four", prompt_tokens=9, completion_tokens=4))
    student = RoleModel("student", make_config())

    async def answer(state: State) -> dict[str, str]:
        reply = await student.complete([("user", state["question"])])
        return {"answer": reply.text}

    builder = StateGraph(State)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    graph = builder.compile()

    streamed = []
    async for chunk, _metadata in graph.astream(
        {"question": "2+2?", "answer": ""}, stream_mode="messages"
    ):
        streamed.append(chunk.content)

    body = server.requests[0].json
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert "".join(streamed) == "the answer is four"
    spend = student.spend()
    assert (spend.prompt_tokens, spend.completion_tokens) == (9, 4)


@pytest.mark.parametrize("fault", [Reset(), EmptyChoices(), Fail(503)], ids=str)
async def test_a_fault_while_streaming_is_retried(
    server: FakeOpenAIServer, make_config: ConfigFactory, fault: Action
):
    server.add_script(fault, Reply("recovered"))
    student = RoleModel("student", make_config())

    async def answer(state: State) -> dict[str, str]:
        reply = await student.complete([("user", state["question"])])
        return {"answer": reply.text}

    builder = StateGraph(State)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    graph = builder.compile()

    final = None
    async for mode, data in graph.astream(
        {"question": "2+2?", "answer": ""}, stream_mode=["messages", "values"]
    ):
        if mode == "values":
            final = data

    assert server.requests[0].json["stream"] is True
    assert final is not None and final["answer"] == "recovered"
    assert server.request_count == 2 and student.spend().retries == 1
