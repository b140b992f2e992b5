"""Fixtures for the LLM tests: the fake OpenAI server wired in as the game's backend."""
from __future__ import annotations

from typing import Iterator

import pytest

from llm.breaker import reset_breakers
from tests.llm.fake_openai import FakeOpenAI

# Short enough that timeout tests take a fraction of a second, long enough for a loaded CI box.
FAKE_LLM_SETTINGS = {
    "CONNECT_TIMEOUT": 1.0,
    "FIRST_TOKEN_TIMEOUT": 1.0,
    "TOKEN_GAP_TIMEOUT": 0.5,
    "TOTAL_TIMEOUT": 5.0,
    "RETRIES": 1,
    "MAX_REPLY_TOKENS": 60,
    "TEMPERATURE": 0.6,
    "TOP_P": 0.9,
    "PRESENCE_PENALTY": 0.0,
    "FREQUENCY_PENALTY": 0.0,
    "CONTEXT_WINDOW": 2048,
    "CONCURRENCY": 0,
    "QUEUE_SIZE": 64,
    "THINKING_AFTER": 0.3,
    "LOCAL_PORT": 8765,
    "LOCAL_THREADS": 2,
    "LOCAL_SLOTS": 4,
    "BACKGROUND_MAX_TOKENS": 160,
}


@pytest.fixture
def fake_llm(monkeypatch: pytest.MonkeyPatch, settings) -> Iterator[FakeOpenAI]:
    """A running FakeOpenAI that the game's LLM client talks to, with short timeouts.

    Script it with `fake_llm.script(Reply(...), Fail(500), Hang())`; read `fake_llm.chat_requests`.
    Adjust a timeout with `settings.TANKARD_LLM["FIRST_TOKEN_TIMEOUT"] = ...` (a per-test copy).
    """
    with FakeOpenAI() as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        settings.TANKARD_LLM = dict(FAKE_LLM_SETTINGS)
        settings.TANKARD_LLM_MODEL = ""
        reset_breakers()
        yield fake
        reset_breakers()
