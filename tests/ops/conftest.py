"""Fixtures for the operations tests: a model backend that answers (or a port that does not),
staff users, and the machine's real Redis for the service checks."""
from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from llm.breaker import reset_breakers
from tests.llm.fake_openai import FakeOpenAI

TEST_REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def llm_backend(monkeypatch: pytest.MonkeyPatch, settings) -> Iterator[FakeOpenAI]:
    """A fake OpenAI-compatible server as the game's backend; no Redis, so only the embedded checks run."""
    with FakeOpenAI() as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        settings.TANKARD_LLM_MODEL = ""
        settings.REDIS_URL = ""
        settings.TANKARD_MAX_RSS_MB = 1024
        reset_breakers()
        yield fake
        reset_breakers()


@pytest.fixture
def closed_port_url() -> str:
    """A base URL on a local port nobody listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_user(username="innkeeper", password="ale-and-bread", is_staff=True)
    client.force_login(user)
    return client


@pytest.fixture
def player_client(client, django_user_model):
    user = django_user_model.objects.create_user(username="traveller", password="ale-and-bread")
    client.force_login(user)
    return client


@pytest.fixture
def real_redis() -> Iterator[str]:
    """The machine's Redis (database 15), flushed; skipped when it does not answer, unless CI=true."""
    import redis

    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis does not answer at {TEST_REDIS_URL} (CI must have it).")
        pytest.skip(f"Redis does not answer at {TEST_REDIS_URL}.")
    client.flushdb()
    yield TEST_REDIS_URL
    client.flushdb()
    client.close()
