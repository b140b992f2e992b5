"""The public calls: wait at the gate, check the breaker, stream with retries."""
from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import AsyncIterator, Mapping, Sequence

import openai

from llm.breaker import CircuitBreaker, breaker_for
from llm.client.attempt import Progress, stream_attempt
from llm.client.connection import aclose_clients, client_for
from llm.client.events import Finished, LLMConfig, Queued, Sampling, StreamEvent
from llm.errors import LLMStreamCut, LLMUnavailable
from llm.gate import (
    PRIORITY_BACKGROUND,
    PRIORITY_PLAYER,
    Ticket,
    announce_player,
    gate_for,
    wait_for_players_idle,
    withdraw_player,
)
from llm.local_server import llm_api_key, llm_base_url, llm_model_name
from llm.metrics import llm_call_observed, llm_error_observed

RETRY_BACKOFF = 0.25  # seconds, times the attempt number
RETRYABLE = frozenset({"timeout", "connect", "http_5xx", "malformed"})
BREAKER_FAILURES = RETRYABLE  # a 4xx is the request's fault, not the backend's

Messages = Sequence[Mapping[str, str]]


async def astream_reply(
    messages: Messages,
    *,
    priority: int = PRIORITY_PLAYER,
    conversation: str | None = None,
    max_tokens: int | None = None,
    temperature: float = 0.7,
    sampling: Sampling | None = None,
) -> AsyncIterator[StreamEvent]:
    """Stream one chat completion: Queued*, Thinking?, Token*, then Finished.

    `sampling`, when given, replaces `temperature` (llm.client.Sampling: top_p, penalties, stop
    strings, seed). Iterate it to the end or under `contextlib.aclosing`, so that leaving early
    frees the slot at once. Raises LLMUnavailable (nothing was yielded) or LLMStreamCut (tokens were).
    """
    config = LLMConfig.from_settings()
    base_url = llm_base_url()
    breaker = breaker_for(base_url)
    if breaker.is_open():
        raise LLMUnavailable("breaker_open")
    request = _request(messages, config, max_tokens, sampling or Sampling(temperature=temperature))
    is_player = priority < PRIORITY_BACKGROUND
    if is_player:
        announce_player()
    else:
        await wait_for_players_idle()
    try:
        ticket = gate_for(base_url).enter(priority=priority, conversation=conversation)
        try:
            async with aclosing(_wait_for_slot(ticket, config)) as waiting:
                async for event in waiting:
                    yield event
            client = client_for(base_url, llm_api_key(), config)
            # Each generator is closed where it is left, so that a caller stopping early closes
            # the HTTP response now, not when the garbage collector finalizes the generators.
            calls = _call_with_retries(client, request, config, breaker, background=not is_player)
            async with aclosing(calls) as events:
                async for event in events:
                    yield event
        finally:
            ticket.release()
    finally:
        if is_player:
            withdraw_player()


async def acomplete(
    messages: Messages,
    *,
    priority: int = PRIORITY_PLAYER,
    conversation: str | None = None,
    max_tokens: int | None = None,
    temperature: float = 0.7,
) -> Finished:
    """The whole reply at once (streamed underneath, so the same timeouts apply)."""
    stream = astream_reply(
        messages, priority=priority, conversation=conversation, max_tokens=max_tokens, temperature=temperature
    )
    async with aclosing(stream):
        async for event in stream:
            if isinstance(event, Finished):
                return event
    raise LLMUnavailable("malformed", "the stream ended without a result")


def complete_sync(
    messages: Messages,
    *,
    priority: int = PRIORITY_BACKGROUND,
    conversation: str | None = None,
    max_tokens: int | None = None,
    temperature: float = 0.7,
) -> Finished:
    """For sync callers in background workers: run `acomplete` on a private event loop.

    Not for a thread that runs an event loop (asyncio.run refuses).
    """
    async def run() -> Finished:
        try:
            return await acomplete(
                messages, priority=priority, conversation=conversation, max_tokens=max_tokens, temperature=temperature
            )
        finally:
            await aclose_clients()

    return asyncio.run(run())


def _request(messages: Messages, config: LLMConfig, max_tokens: int | None, sampling: Sampling) -> dict:
    return {
        "model": llm_model_name(),
        "messages": [dict(m) for m in messages],
        "max_tokens": max_tokens or config.max_reply_tokens,
        **sampling.request_fields(),
        "stream": True,
        "stream_options": {"include_usage": True},
    }


async def _wait_for_slot(ticket: Ticket, config: LLMConfig) -> AsyncIterator[Queued]:
    """Report the queue position while waiting; the wait is bounded by TOTAL_TIMEOUT."""
    deadline = asyncio.get_running_loop().time() + config.total
    reported = None
    while not ticket.granted:
        if ticket.position != reported:
            reported = ticket.position
            yield Queued(reported)
        try:
            async with asyncio.timeout_at(deadline):
                await ticket.wait_change()
        except TimeoutError:
            raise LLMUnavailable("timeout", "waited too long for a slot") from None


async def _call_with_retries(
    client: openai.AsyncOpenAI, request: dict, config: LLMConfig, breaker: CircuitBreaker, *, background: bool = False
) -> AsyncIterator[StreamEvent]:
    progress = Progress(started=asyncio.get_running_loop().time(), config=config)
    last_kind = "breaker_open"
    for attempt in range(config.retries + 1):
        if attempt:
            await _backoff(attempt, progress)
        if not breaker.allow():
            raise LLMUnavailable(last_kind, "the breaker opened while retrying" if attempt else "")
        try:
            async with aclosing(stream_attempt(client, request, progress, background=background)) as events:
                async for event in events:
                    yield event
        except LLMUnavailable as error:
            _record(breaker, error.kind)
            llm_call_observed(outcome="error")
            llm_error_observed(kind=error.kind)
            if progress.pieces:
                raise LLMStreamCut(error.kind, progress.text, error.detail) from error
            if error.kind not in RETRYABLE or attempt == config.retries:
                raise
            last_kind = error.kind
            continue
        except BaseException:  # cancelled, or the caller stopped iterating
            breaker.release()
            llm_call_observed(outcome="cancelled")
            raise
        breaker.record_success()
        llm_call_observed(outcome="ok")
        yield _finished(progress, attempt)
        return


def _record(breaker: CircuitBreaker, kind: str) -> None:
    if kind in BREAKER_FAILURES:
        breaker.record_failure()
    else:
        breaker.release()


async def _backoff(attempt: int, progress: Progress) -> None:
    remaining = progress.deadline - asyncio.get_running_loop().time()
    if remaining <= 0:
        raise LLMUnavailable("timeout", "no time left to retry")
    await asyncio.sleep(min(RETRY_BACKOFF * attempt, remaining))


def _finished(progress: Progress, retries: int) -> Finished:
    completion_tokens = progress.completion_tokens
    return Finished(
        text=progress.text,
        finish_reason=progress.finish_reason or "stop",
        prompt_tokens=progress.prompt_tokens,
        completion_tokens=completion_tokens if completion_tokens is not None else len(progress.pieces),
        retries=retries,
    )
