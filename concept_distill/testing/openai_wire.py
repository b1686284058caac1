"""OpenAI chat-completion wire format for the fake server: replies, errors and SSE streams."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from concept_distill.testing.actions import Reply


def completion(
    action: Reply, body: dict[str, Any], *, completion_id: str, model: str
) -> dict[str, Any]:
    """The JSON of a chat completion for `action`; token counts default to word counts."""
    prompt_tokens = action.prompt_tokens
    if prompt_tokens is None:
        prompt_tokens = sum(_words(m.get("content")) for m in body.get("messages", []))
    completion_tokens = action.completion_tokens
    if completion_tokens is None:
        completion_tokens = _words(action.content)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", model),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": action.content},
                "finish_reason": action.finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def empty_choices(body: dict[str, Any], completion_id: str) -> dict[str, Any]:
    """A well-formed completion without a single choice (some proxies send it on overload)."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake-model"),
        "choices": [],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


async def empty_stream(request: web.Request) -> web.StreamResponse:
    """A streamed completion that ends before its first chunk."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


def _words(content: object) -> int:
    if isinstance(content, str):
        return len(content.split())
    if isinstance(content, list):
        return sum(_words(part.get("text")) for part in content if isinstance(part, dict))
    return 0


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """An OpenAI-style error body with `status` (and extra headers such as Retry-After)."""
    payload = {"error": {"message": message, "type": "fake_error", "code": status}}
    return web.json_response(payload, status=status, headers=headers)


async def stream(
    completion: dict[str, Any], body: dict[str, Any], request: web.Request
) -> web.StreamResponse:
    """Send the completion as server-sent events, the way OpenAI streams chat completions."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    choice = completion["choices"][0]
    base = {k: completion[k] for k in ("id", "created", "model")} | {
        "object": "chat.completion.chunk"
    }
    chunks: list[dict[str, Any]] = [
        {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None},
        *(
            {"index": 0, "delta": {"content": piece}, "finish_reason": None}
            for piece in _pieces(choice["message"]["content"])
        ),
        {"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]},
    ]
    for chunk in chunks:
        await response.write(_event(base | {"choices": [chunk]}))
    if (body.get("stream_options") or {}).get("include_usage"):
        await response.write(_event(base | {"choices": [], "usage": completion["usage"]}))
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [word if i == 0 else " " + word for i, word in enumerate(words)]


def _event(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()
