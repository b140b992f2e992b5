"""One streamed chat completion request, under the first-token, gap and total deadlines.

`stream_attempt` yields Thinking and Token events and records the finish reason and usage in a
`Progress` shared across attempts; every failure, whatever its source (httpx, openai, a broken
chunk, a deadline), leaves as `LLMUnavailable(kind)`. The caller decides about retrying.
"""
from __future__ import annotations

import asyncio
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

import openai

from llm.client.connection import chat_stream_open
from llm.client.events import LLMConfig, Thinking, Token
from llm.errors import LLMUnavailable


@dataclass
class Progress:
    """What one call has done so far, across its attempts (times are event-loop times)."""

    started: float
    config: LLMConfig
    pieces: list[str] = field(default_factory=list)
    thinking_sent: bool = False
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @property
    def deadline(self) -> float:
        return self.started + self.config.total

    @property
    def thinking_at(self) -> float:
        return self.started + self.config.thinking_after

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def note(self, piece: Piece) -> None:
        if piece.text:
            self.pieces.append(piece.text)
        if piece.finish_reason:
            self.finish_reason = piece.finish_reason
        if piece.usage is not None:
            self.prompt_tokens = getattr(piece.usage, "prompt_tokens", None)
            self.completion_tokens = getattr(piece.usage, "completion_tokens", None)


@dataclass(frozen=True)
class Piece:
    """The useful part of one chunk."""

    text: str
    finish_reason: str | None
    usage: Any


async def stream_attempt(client: openai.AsyncOpenAI, request: dict, progress: Progress, *, background: bool = False
                         ) -> AsyncIterator[Thinking | Token]:
    """One HTTP request: Thinking (at most once per call), then the tokens."""
    opened: list[openai.AsyncStream] = []
    first = asyncio.ensure_future(_open_and_read(client, request, opened, background))
    try:
        async with aclosing(_await_first(first, progress)) as waiting:
            async for event in waiting:
                yield event
        piece = first.result()
        while piece is not None:
            progress.note(piece)
            if piece.text:
                yield Token(piece.text)
            piece = await _read_next(opened[0], progress)
    finally:
        await _discard(first, opened)
    if progress.finish_reason is None:
        raise LLMUnavailable("connect", "the stream ended without a finish reason")


async def _await_first(first: asyncio.Future, progress: Progress) -> AsyncIterator[Thinking]:
    """Wait for the first piece under the first-token deadline, announcing Thinking on the way."""
    loop = asyncio.get_running_loop()
    deadline = min(loop.time() + progress.config.first_token, progress.deadline)
    while True:
        wake = deadline if progress.thinking_sent else min(deadline, progress.thinking_at)
        done, _ = await asyncio.wait({first}, timeout=max(0.0, wake - loop.time()))
        if done:
            return
        if not progress.thinking_sent and loop.time() >= progress.thinking_at:
            progress.thinking_sent = True
            yield Thinking()
        elif loop.time() >= deadline:
            raise LLMUnavailable("timeout", "no first token in time")


async def _read_next(stream: openai.AsyncStream, progress: Progress) -> Piece | None:
    deadline = min(asyncio.get_running_loop().time() + progress.config.token_gap, progress.deadline)
    try:
        async with asyncio.timeout_at(deadline):
            return await _read(stream)
    except TimeoutError:
        raise LLMUnavailable("timeout", "the stream stalled") from None


async def _open_and_read(client: openai.AsyncOpenAI, request: dict, opened: list, background: bool) -> Piece | None:
    try:
        stream = await chat_stream_open(client, request, background=background)
    except openai.APIError as error:
        raise LLMUnavailable(kind_of(error), str(error)) from error
    opened.append(stream)
    return await _read(stream)


async def _read(stream: openai.AsyncStream) -> Piece | None:
    """The next chunk that carries text, a finish reason or usage; None at the end of the stream."""
    while True:
        try:
            chunk = await stream.__anext__()
        except StopAsyncIteration:
            return None
        except openai.APIError as error:
            raise LLMUnavailable(kind_of(error), str(error)) from error
        except ValueError as error:  # a chunk that is not JSON, or does not validate
            raise LLMUnavailable("malformed", str(error)) from error
        piece = piece_of(chunk)
        if piece.text or piece.finish_reason or piece.usage is not None:
            return piece


def piece_of(chunk: Any) -> Piece:
    """Text, finish reason and usage of a chunk; role-only and empty deltas give empty text."""
    try:
        choices = chunk.choices
        usage = getattr(chunk, "usage", None)
        if not isinstance(choices, list):
            raise TypeError("choices is not a list")
        if not choices:
            return Piece("", None, usage)
        delta = choices[0].delta
        text = (getattr(delta, "content", None) if delta is not None else None) or ""
        finish_reason = choices[0].finish_reason
        if not isinstance(text, str) or not isinstance(finish_reason, (str, type(None))):
            raise TypeError("content or finish_reason has the wrong type")
    except (AttributeError, TypeError, IndexError) as error:
        raise LLMUnavailable("malformed", f"unexpected chunk: {error}") from error
    return Piece(text, finish_reason, usage)


def kind_of(error: openai.APIError) -> str:
    if isinstance(error, openai.APITimeoutError):
        return "timeout"
    if isinstance(error, openai.APIConnectionError):
        return "connect"
    if isinstance(error, openai.APIStatusError):
        return "http_5xx" if error.status_code >= 500 else "http_4xx"
    return "http_5xx"  # an error event inside the stream: the server failed midway


async def _discard(first: asyncio.Future, opened: list) -> None:
    """Stop the pending read and close the response, whatever state the attempt ended in."""
    if not first.done():
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
    elif not first.cancelled():
        first.exception()  # retrieved: no "exception was never retrieved" warning
    for stream in opened:
        await stream.close()
