"""The OpenAI-compatible HTTP face of the engine: `GET /v1/models`, `POST /v1/chat/completions`
(streamed as server-sent events, or whole), errors as OpenAI's `{"error": {...}}` bodies.

A request with `X-Tankard-Priority: background` (the game's pre-generation and summaries) is
queued behind players, has its `max_tokens` capped, and never takes the last free slot while a
player waits. A request the server cannot read is a 400, never a crash.
"""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from llm.model_server.engine import Done, Engine, Event, Failed, Job, Text
from llm.model_server.model import ModelError, SamplingParams

PRIORITY_HEADER = "x-tankard-priority"
MAX_STOP_STRINGS = 8
ROLES = {"system", "user", "assistant"}


class BadRequest(ValueError):
    """The request's body is not a chat completion request this server can serve."""


@dataclass(frozen=True)
class ChatRequest:
    messages: list[tuple[str, str]]
    sampling: SamplingParams
    max_tokens: int | None
    stop: tuple[str, ...]
    stream: bool
    include_usage: bool


def parse_chat_request(body: Any) -> ChatRequest:
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty list")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise BadRequest("'stream_options' must be an object")
    defaults = SamplingParams()
    sampling = SamplingParams(
        temperature=_number(body, "temperature", defaults.temperature, 0.0, 2.0),
        top_p=_number(body, "top_p", defaults.top_p, 0.0, 1.0),
        top_k=int(_number(body, "top_k", defaults.top_k, 0, 1000)),
        min_p=_number(body, "min_p", defaults.min_p, 0.0, 1.0),
        repeat_penalty=_number(body, "repeat_penalty", defaults.repeat_penalty, 0.0, 10.0),
        presence_penalty=_number(body, "presence_penalty", 0.0, -2.0, 2.0),
        frequency_penalty=_number(body, "frequency_penalty", 0.0, -2.0, 2.0),
        seed=_integer(body, "seed"),
    )
    max_tokens = _integer(body, "max_tokens")
    if max_tokens is not None and max_tokens < 1:
        raise BadRequest("'max_tokens' must be at least 1")
    return ChatRequest([_message(m) for m in messages], sampling, max_tokens, _stop(body.get("stop")),
                       stream=bool(body.get("stream", False)), include_usage=bool(options.get("include_usage")))


def _message(message: Any) -> tuple[str, str]:
    if not isinstance(message, dict) or message.get("role") not in ROLES:
        raise BadRequest("each message needs a 'role' of system, user or assistant")
    content = message.get("content")
    if isinstance(content, list):  # the parts form: only text parts are understood
        if not all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str) for p in content):
            raise BadRequest("only text content parts are supported")
        content = "".join(p["text"] for p in content)
    if not isinstance(content, str):
        raise BadRequest("a message's 'content' must be a string")
    return message["role"], content


def _number(body: dict, name: str, default: float, low: float, high: float) -> float:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise BadRequest(f"'{name}' must be a number from {low} to {high}")
    return float(value)


def _integer(body: dict, name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"'{name}' must be an integer")
    return value


def _stop(stop: Any) -> tuple[str, ...]:
    if stop is None:
        return ()
    stops = [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or len(stops) > MAX_STOP_STRINGS or not all(isinstance(s, str) for s in stops):
        raise BadRequest(f"'stop' must be a string or a list of at most {MAX_STOP_STRINGS} strings")
    return tuple(s for s in stops if s)


def error_response(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status_code=status)


def build_app(engine: Engine, *, alias: str, background_max_tokens: int) -> Starlette:
    """The ASGI app over a started engine."""

    async def models(request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [
            {"id": alias, "object": "model", "created": 0, "owned_by": "tankard", **engine.stats()}]})

    async def chat_completions(request: Request) -> Response:
        try:
            chat = parse_chat_request(json.loads(await request.body()))
            prompt = engine.model.tokenize(engine.model.chat_prompt(chat.messages))
        except (ValueError, BadRequest) as error:  # json.JSONDecodeError is a ValueError
            return error_response(400, str(error) if isinstance(error, BadRequest) else "the body is not JSON")
        except ModelError as error:
            return error_response(400, str(error))
        room = engine.model.context_window - len(prompt)
        if room < 2:
            return error_response(400, f"the prompt has {len(prompt)} tokens; this server's context holds "
                                       f"{engine.model.context_window}")
        background = request.headers.get(PRIORITY_HEADER, "").strip().lower() == "background"
        max_tokens = min(chat.max_tokens or room, room - 1)
        if background:
            max_tokens = min(max_tokens, background_max_tokens)
        events: asyncio.Queue[Event] = asyncio.Queue()
        job = Job(prompt, chat.sampling, max_tokens, chat.stop, _emitter(events), background=background)
        engine.submit(job)
        reply_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if chat.stream:
            return StreamingResponse(_sse(job, events, reply_id, created, alias, chat.include_usage),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        return await _whole(job, events, reply_id, created, alias)

    return Starlette(routes=[
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    ])


def _emitter(events: asyncio.Queue) -> Callable[[Event], None]:
    """A thread-safe way for the engine's thread to hand events to this request's queue."""
    loop = asyncio.get_running_loop()

    def emit(event: Event) -> None:
        try:
            loop.call_soon_threadsafe(events.put_nowait, event)
        except RuntimeError:  # the event loop has closed: the server is stopping
            pass

    return emit


async def _whole(job: Job, events: asyncio.Queue, reply_id: str, created: int, alias: str) -> Response:
    pieces: list[str] = []
    try:
        while True:
            event = await events.get()
            if isinstance(event, Text):
                pieces.append(event.text)
            elif isinstance(event, Failed):
                return error_response(500, event.message, "server_error")
            else:
                break
    finally:
        job.cancel()  # no-op once done; frees the slot if the client left first
    return JSONResponse({
        "id": reply_id, "object": "chat.completion", "created": created, "model": alias,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(pieces)},
                     "finish_reason": event.finish_reason}],
        "usage": _usage(event),
    })


async def _sse(job: Job, events: asyncio.Queue, reply_id: str, created: int, alias: str,
               include_usage: bool) -> AsyncIterator[str]:
    def chunk(delta: dict, finish_reason: str | None = None, usage: dict | None = None, choices: bool = True) -> str:
        body = {"id": reply_id, "object": "chat.completion.chunk", "created": created, "model": alias,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}] if choices else []}
        if usage is not None:
            body["usage"] = usage
        return f"data: {json.dumps(body)}\n\n"

    try:
        yield chunk({"role": "assistant", "content": ""})
        while True:
            event = await events.get()
            if isinstance(event, Text):
                yield chunk({"content": event.text})
            elif isinstance(event, Failed):
                yield f"data: {json.dumps({'error': {'message': event.message, 'type': 'server_error'}})}\n\n"
                return
            else:
                yield chunk({}, event.finish_reason)
                if include_usage:
                    yield chunk({}, usage=_usage(event), choices=False)
                yield "data: [DONE]\n\n"
                return
    finally:
        job.cancel()


def _usage(done: Done) -> dict:
    return {"prompt_tokens": done.prompt_tokens, "completion_tokens": done.completion_tokens,
            "total_tokens": done.prompt_tokens + done.completion_tokens}
