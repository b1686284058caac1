"""Fakes for tests, shipped so users can test their own tasks too.

`FakeOpenAIServer` is a real HTTP server on 127.0.0.1 that scripts replies, latency, errors and
hangs, and records what it was sent; `ScriptedChatModel` skips HTTP altogether.
"""

from concept_distill.testing.actions import (
    Action,
    Fail,
    Hang,
    Malformed,
    RecordedRequest,
    Reply,
    ReplyFunction,
)
from concept_distill.testing.fake_server import FakeOpenAIServer
from concept_distill.testing.proxy import CountingProxy
from concept_distill.testing.scripted import ScriptedChatModel, ScriptFunction

__all__ = [
    "Action",
    "CountingProxy",
    "Fail",
    "FakeOpenAIServer",
    "Hang",
    "Malformed",
    "RecordedRequest",
    "Reply",
    "ReplyFunction",
    "ScriptFunction",
    "ScriptedChatModel",
]
