"""Structured output: ask for JSON matching a pydantic schema, validate it, repair once, or record.

Endpoints differ in what they enforce (llama-server may silently ignore a schema it cannot turn
into a grammar; llama-cpp-python rejects `json_schema`), so the reply is always validated here.
A reply that fails gets one repair request that shows the model its reply and the error; if that
fails too, the result records the failure instead of raising.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from concept_distill.models.config import StructuredMode
from concept_distill.models.messages import WireMessage
from concept_distill.models.replies import ChatReply, SchemaT, StructuredFailure, StructuredResult

Completer = Callable[[list[WireMessage], Mapping[str, Any] | None], Awaitable[ChatReply]]
"""Sends messages (with an optional `response_format`) and returns the reply."""

_ERROR_LIMIT = 1500


def response_format_for(schema: type[BaseModel], mode: StructuredMode) -> dict[str, Any] | None:
    """The `response_format` to send for `schema` in `mode`, or None to rely on the prompt.

    `strict` is left off: OpenAI's strict mode rejects schemas with optional fields, and other
    servers ignore the flag; the reply is validated here either way.
    """
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema()},
        }
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def with_schema_instruction(
    messages: list[WireMessage], schema: type[BaseModel], mode: StructuredMode
) -> list[WireMessage]:
    """Add the JSON schema to the system message when the endpoint will not get it otherwise.

    The instruction goes into the first system message (or a new one in front), because many chat
    templates refuse a system message anywhere but first.
    """
    if mode == "json_schema":
        return messages
    instruction = (
        "Reply with only one JSON object, no other text, that matches this JSON schema:\n"
        + json.dumps(schema.model_json_schema(), separators=(",", ":"))
    )
    if messages and messages[0].get("role") == "system":
        first = {**messages[0], "content": f"{messages[0].get('content', '')}\n\n{instruction}"}
        return [first, *messages[1:]]
    return [{"role": "system", "content": instruction}, *messages]


def parse_reply(text: str, schema: type[SchemaT]) -> SchemaT:
    """Validate a reply against `schema`, tolerating code fences or prose around one JSON object.

    Raises:
        ValidationError: when the JSON does not fit the schema (or is not JSON at all).
    """
    start, end = text.find("{"), text.rfind("}")
    candidate = text[start : end + 1] if 0 <= start < end else text
    return schema.model_validate_json(candidate)


def describe_error(error: ValidationError) -> str:
    """A compact list of what was wrong, short enough to send back to the model."""
    parts = []
    for item in error.errors(include_url=False):
        where = ".".join(str(step) for step in item["loc"]) or "(root)"
        parts.append(f"{where}: {item['msg']}")
    text = "; ".join(parts)
    return text if len(text) <= _ERROR_LIMIT else text[: _ERROR_LIMIT - 3] + "..."


def repair_messages(messages: list[WireMessage], reply: str, error: str) -> list[WireMessage]:
    """The conversation for the repair attempt: the bad reply, then what was wrong with it."""
    request = (
        f"Your reply was not valid: {error}\n"
        "Reply again with only the corrected JSON object that matches the schema."
    )
    return [
        *messages,
        {"role": "assistant", "content": reply},
        {"role": "user", "content": request},
    ]


async def request_structured(
    complete: Completer,
    messages: list[WireMessage],
    schema: type[SchemaT],
    *,
    mode: StructuredMode,
) -> StructuredResult[SchemaT]:
    """Ask for `schema`, validate, repair once; the result carries a value or a failure."""
    response_format = response_format_for(schema, mode)
    conversation = with_schema_instruction(messages, schema, mode)
    replies: list[ChatReply] = []
    errors: list[str] = []
    for _ in range(2):
        reply = await complete(conversation, response_format)
        replies.append(reply)
        try:
            value = parse_reply(reply.text, schema)
        except ValidationError as error:
            errors.append(describe_error(error))
            conversation = repair_messages(conversation, reply.text, errors[-1])
            continue
        return StructuredResult[SchemaT](value=value, replies=tuple(replies))
    failure = StructuredFailure(
        schema_name=schema.__name__,
        errors=tuple(errors),
        raw_replies=tuple(reply.text for reply in replies),
    )
    return StructuredResult[SchemaT](failure=failure, replies=tuple(replies))
