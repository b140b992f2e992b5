"""One `AsyncOpenAI` client per event loop and backend.

httpx connection pools belong to the loop that opened them, and tests (and `complete_sync`) run
many loops, so clients are kept per running loop, in a weak mapping that forgets closed loops.
"""
from __future__ import annotations

import asyncio
import weakref

import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from llm.client.events import LLMConfig

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, openai.AsyncOpenAI]] = (
    weakref.WeakKeyDictionary()
)


def client_for(base_url: str, api_key: str, config: LLMConfig) -> openai.AsyncOpenAI:
    """The running loop's client for this backend and these timeouts."""
    clients = _clients.setdefault(asyncio.get_running_loop(), {})
    key = (base_url, api_key, config.connect, config.total)
    if key not in clients:
        clients[key] = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key,
            # The read timeout is only a backstop: first-token and gap deadlines are enforced per call.
            timeout=openai.Timeout(config.total, connect=config.connect),
            max_retries=0,  # retries are ours: only before the first token
        )
    return clients[key]


async def aclose_clients() -> None:
    """Close the running loop's clients (before the loop ends, as `complete_sync` does)."""
    for client in _clients.pop(asyncio.get_running_loop(), {}).values():
        await client.close()


BACKGROUND_HEADERS = {"X-Tankard-Priority": "background"}  # our local model server caps and defers these


async def chat_stream_open(client: openai.AsyncOpenAI, request: dict, *, background: bool = False
                           ) -> openai.AsyncStream[ChatCompletionChunk]:
    """Open a streamed chat completion for `request`, a plain JSON body; `background` marks it as
    pre-generation or summary work (`X-Tankard-Priority: background`, which other servers ignore).

    The same request as `client.chat.completions.create(**request)`, through the client's generic
    `post` (openai's documented way to send a body as it is): the typed method first walks every
    message against its parameter types, about 0.7 ms a request here (1.4 against 0.7 ms to the
    transport), on the way to a player's first token, for a body that is plain JSON already."""
    options = {"headers": BACKGROUND_HEADERS} if background else {}
    return await client.post("/chat/completions", body=request, cast_to=ChatCompletion, stream=True,
                             stream_cls=openai.AsyncStream[ChatCompletionChunk], options=options)
