"""Fakes for tests, shipped so users can test their own tasks too.

`FakeOpenAIServer` is a real HTTP server on 127.0.0.1 that scripts replies, latency, errors and
hangs, and records what it was sent; `ScriptedChatModel` skips HTTP altogether.
"""

from concept_distill.testing.actions import (
    Action,
    EmptyChoices,
    Fail,
    Hang,
    Malformed,
    RecordedRequest,
    Reply,
    ReplyFunction,
    Reset,
)
from concept_distill.testing.fake_server import FakeOpenAIServer
from concept_distill.testing.faults import DEFAULT_FAULTS, FaultInjector
from concept_distill.testing.proxy import CountingProxy
from concept_distill.testing.scripted import ScriptedChatModel, ScriptFunction

__all__ = [
    "DEFAULT_FAULTS",
    "Action",
    "CountingProxy",
    "EmptyChoices",
    "Fail",
    "FakeOpenAIServer",
    "FaultInjector",
    "Hang",
    "Malformed",
    "RecordedRequest",
    "Reply",
    "ReplyFunction",
    "Reset",
    "ScriptFunction",
    "ScriptedChatModel",
]
