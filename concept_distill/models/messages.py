"""One shape for chat messages: OpenAI-style dicts, used both on the wire and in the cache key.

Callers may pass langchain messages, `(role, text)` tuples or dicts; normalising them once, before
anything else, means the cache key is computed from exactly what is sent and that a badly formed
message fails in the caller's code rather than looking like a model failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import MessageLikeRepresentation, convert_to_openai_messages

WireMessage = dict[str, Any]
"""A message as sent to an OpenAI-compatible endpoint: `{"role": ..., "content": ...}`."""

MessagesInput = Sequence[MessageLikeRepresentation]
"""What callers may pass: langchain messages, `(role, text)` tuples, OpenAI-style dicts."""


def to_wire(messages: MessagesInput) -> list[WireMessage]:
    """Normalise messages to OpenAI-style dicts (text content joined into one string).

    Raises:
        ValueError: when there are no messages or one cannot be converted.
    """
    if isinstance(messages, str | bytes) or not messages:
        raise ValueError("a chat call needs a non-empty sequence of messages")
    return convert_to_openai_messages(list(messages), text_format="string")
