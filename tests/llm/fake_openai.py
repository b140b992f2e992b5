"""A scriptable OpenAI-compatible HTTP server for tests.

A real socket server (`http.server` in a thread, so sync and async tests of any event loop can use
it) speaking just enough of the OpenAI API: streaming and plain chat completions, GET /v1/models
and POST /v1/embeddings. Each chat request takes the next scripted behaviour (`Reply`, `Fail`,
`Hang`, `Crash`) or the default one, and every request body is recorded for assertions.

    with FakeOpenAI() as fake:
        fake.script(Fail(500), Reply("Aye.", tokens_per_second=50))
        ... OPENAI_BASE_URL = fake.base_url ...
        assert fake.chat_count == 2
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import signal
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Union


@dataclass(frozen=True)
class Reply:
    """A normal answer, streamed as one chunk per token."""

    text: str = "Aye, what'll it be?"
    tokens: tuple[str, ...] | None = None  # default: the text split into words with their spaces
    tokens_per_second: float | None = None  # None: as fast as possible
    first_token_delay: float = 0.0
    finish_reason: str = "stop"
    stall_after: int | None = None  # pause `stall` seconds after this many tokens
    stall: float = 0.0
    cut_after: int | None = None  # close the socket after this many tokens
    malformed_after: int | None = None  # send an unparseable chunk after this many tokens
    empty_deltas: bool = False  # interleave chunks with empty content, as some servers do

    def pieces(self) -> list[str]:
        return list(self.tokens) if self.tokens is not None else re.findall(r"\s*\S+\s*?", self.text) or [""]


@dataclass(frozen=True)
class Fail:
    """An HTTP error status with an OpenAI-style error body."""

    status: int = 500
    message: str = "the fake model fell over"
    delay: float = 0.0


@dataclass(frozen=True)
class Hang:
    """Accept the request and never answer (until the server stops)."""


@dataclass(frozen=True)
class Crash:
    """End the whole process with SIGSEGV, as a broken llama.cpp build does on its first real
    prompt (only for a fake run as a child process: tests/llm/crashing_server.py)."""


Behaviour = Union[Reply, Fail, Hang, Crash]
Responder = Callable[[dict], Behaviour]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


class FakeOpenAI:
    """The server; a context manager yielding itself, with `base_url` ending in /v1."""

    def __init__(self, *, default: Behaviour | Responder = Reply(), model: str = "fake-model", embedding_dim: int = 384,
                 port: int = 0) -> None:
        self.default = default
        self.requested_port = port
        self.model = model
        self.embedding_dim = embedding_dim
        self.requests: list[RecordedRequest] = []
        self._script: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._received = threading.Condition(self._lock)
        self.stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        self.stopping.clear()
        server = ThreadingHTTPServer(("127.0.0.1", self.requested_port), _Handler)
        server.daemon_threads = True
        server.block_on_close = False
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # --- scripting and inspection ------------------------------------------------------------------
    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next chat requests, in order; then the default applies."""
        with self._lock:
            self._script.extend(behaviours)

    def next_behaviour(self, body: dict) -> Behaviour:
        with self._lock:
            if self._script:
                return self._script.popleft()
        return self.default(body) if callable(self.default) else self.default

    def record(self, request: RecordedRequest) -> None:
        with self._received:
            self.requests.append(request)
            self._received.notify_all()

    @property
    def chat_requests(self) -> list[dict]:
        """Bodies of the chat completion requests received so far."""
        with self._lock:
            return [r.body for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def chat_count(self) -> int:
        return len(self.chat_requests)

    def wait_for_chat_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Block until `count` chat requests arrived (for tests that must sync with the server)."""
        def arrived() -> bool:
            return sum(r.path.endswith("/chat/completions") for r in self.requests) >= count

        with self._received:
            return self._received.wait_for(arrived, timeout)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._script.clear()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    @property
    def fake(self) -> FakeOpenAI:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.fake.record(RecordedRequest("GET", self.path, {}, dict(self.headers)))
        if self.path.rstrip("/").endswith("/models"):
            data = [{"id": self.fake.model, "object": "model", "created": 0, "owned_by": "fake"}]
            self._json(200, {"object": "list", "data": data})
        else:
            self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = {}
        self.fake.record(RecordedRequest("POST", self.path, body, dict(self.headers)))
        try:
            if self.path.endswith("/chat/completions"):
                self._chat(body)
            elif self.path.endswith("/embeddings"):
                self._embeddings(body)
            else:
                self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeouts are part of the tests)

    # --- responses -------------------------------------------------------------------------------
    def _json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def _chat(self, body: dict) -> None:
        behaviour = self.fake.next_behaviour(body)
        if isinstance(behaviour, Crash):
            os.kill(os.getpid(), signal.SIGSEGV)
        if isinstance(behaviour, Hang):
            self.fake.stopping.wait()
            self.close_connection = True
        elif isinstance(behaviour, Fail):
            self.fake.stopping.wait(behaviour.delay)
            self._json(behaviour.status, {"error": {"message": behaviour.message, "type": "server_error"}})
        elif body.get("stream"):
            self._stream(body, behaviour)
        else:
            self._complete(body, behaviour)

    def _complete(self, body: dict, reply: Reply) -> None:
        self.fake.stopping.wait(reply.first_token_delay)
        message = {"role": "assistant", "content": reply.text}
        self._json(200, {
            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": self.fake.model,
            "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
            "usage": _usage(body, reply.pieces()),
        })

    def _stream(self, body: dict, reply: Reply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        self._event({"role": "assistant"}, None)
        if self.fake.stopping.wait(reply.first_token_delay):
            return
        if not self._stream_tokens(reply):
            return
        self._event({}, reply.finish_reason)
        if (body.get("stream_options") or {}).get("include_usage"):
            self._sse(_chunk(self.fake.model, None, None) | {"choices": [], "usage": _usage(body, reply.pieces())})
        self._sse_raw(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")

    def _stream_tokens(self, reply: Reply) -> bool:
        """Send the tokens; False when the behaviour ends the stream early (cut)."""
        gap = 1.0 / reply.tokens_per_second if reply.tokens_per_second else 0.0
        for sent, piece in enumerate(reply.pieces()):
            if sent == reply.cut_after:
                self._cut()
                return False
            if sent == reply.malformed_after:
                self._sse_raw(b'data: {"choices": [{"delta": {"content": "oops"\n\n')
            if sent == reply.stall_after and self.fake.stopping.wait(reply.stall):
                return False
            if sent and gap and self.fake.stopping.wait(gap):
                return False
            if reply.empty_deltas:
                self._event({"content": ""}, None)
            self._event({"content": piece}, None)
        return True

    def _cut(self) -> None:
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)

    def _event(self, delta: dict, finish_reason: str | None) -> None:
        self._sse(_chunk(self.fake.model, delta, finish_reason))

    def _sse(self, payload: dict) -> None:
        self._sse_raw(f"data: {json.dumps(payload)}\n\n".encode())

    def _sse_raw(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _embeddings(self, body: dict) -> None:
        inputs = body.get("input", "")
        texts = [inputs] if isinstance(inputs, str) else [str(i) for i in inputs]
        dim = int(body.get("dimensions") or self.fake.embedding_dim)
        as_base64 = body.get("encoding_format") == "base64"
        data = [
            {"object": "embedding", "index": i, "embedding": _encode(fake_embedding(text, dim), as_base64)}
            for i, text in enumerate(texts)
        ]
        tokens = sum(len(t.split()) for t in texts)
        self._json(200, {
            "object": "list", "data": data, "model": body.get("model", self.fake.model),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        })


def _chunk(model: str, delta: dict | None, finish_reason: str | None) -> dict:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
    return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()), "model": model, "choices": choices}


def _usage(body: dict, pieces: list[str]) -> dict:
    prompt = sum(len(str(m.get("content", "")).split()) + 4 for m in body.get("messages", []))
    return {"prompt_tokens": prompt, "completion_tokens": len(pieces), "total_tokens": prompt + len(pieces)}


def fake_embedding(text: str, dim: int = 384) -> list[float]:
    """A deterministic unit vector for `text` (same text, same vector, in every process)."""
    values: list[float] = []
    counter = 0
    while len(values) < dim:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values.extend((b - 127.5) / 127.5 for b in digest)
        counter += 1
    values = values[:dim]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def _encode(vector: list[float], as_base64: bool) -> list[float] | str:
    if not as_base64:
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def system_text(request: dict) -> str:
    """Every system message a chat request held (the NPC's character first, then the moment)."""
    return "\n\n".join(m["content"] for m in request["messages"] if m["role"] == "system")
