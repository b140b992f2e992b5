"""Streaming chat completions from the OpenAI-compatible backend.

`astream_reply` is the one way the game talks to the model: it waits its turn at the gate, checks
the breaker, streams the reply under explicit timeouts (connect, first token, gap between tokens,
total), retries only before anything reached the caller, and reports progress as small frozen
events. Failures surface as `LLMUnavailable` (nothing was shown) or `LLMStreamCut` (a partial
reply was shown). `acomplete` and `complete_sync` wrap it for whole replies.

    events.py      the stream events and the settings the client reads
    connection.py  one AsyncOpenAI client per event loop and backend
    attempt.py     one HTTP request: first-token and gap deadlines, chunk parsing, error kinds
    calls.py       the public calls: gate, breaker, retries
"""
from llm.client.calls import acomplete, astream_reply, complete_sync
from llm.client.connection import aclose_clients, client_for
from llm.client.events import Finished, LLMConfig, Queued, Sampling, StreamEvent, Thinking, Token
from llm.errors import LLMStreamCut, LLMUnavailable
from llm.gate import PRIORITY_BACKGROUND, PRIORITY_PLAYER

__all__ = [
    "Queued", "Thinking", "Token", "Finished", "StreamEvent", "LLMConfig", "Sampling",
    "LLMUnavailable", "LLMStreamCut", "PRIORITY_PLAYER", "PRIORITY_BACKGROUND",
    "astream_reply", "acomplete", "complete_sync", "client_for", "aclose_clients",
]
