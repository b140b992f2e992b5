"""A few injection lines against the REAL local model (llama.cpp, supervised on a free port): a
tiny model falls for them readily, and the leak guard must still keep the canary from the player."""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest
from channels.db import database_sync_to_async

from llm.breaker import reset_breakers
from llm.local_server import LocalModelSupervisor, local_model_path
from tests.faults.conftest import free_port
from tests.websocket import game_with_cookie, play, ready
from tests.security.support import squashed_canary_in

pytestmark = [pytest.mark.localmodel, pytest.mark.django_db(transaction=True)]

LINES = [json.loads((Path(__file__).parent / "injections.json").read_text())[i] for i in (0, 2, 19)]


@pytest.fixture
def local_model(monkeypatch, settings):
    if importlib.util.find_spec("llama_cpp") is None or local_model_path() is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI must run the local model: llama_cpp or its GGUF is missing")
        pytest.skip("llama_cpp or the local GGUF is not installed")
    port = free_port()
    settings.TANKARD_LLM = {**settings.TANKARD_LLM, "LOCAL_PORT": port, "CONTEXT_WINDOW": 2048, "MAX_REPLY_TOKENS": 48,
                            "RETRIES": 0, "CONCURRENCY": 0, "FIRST_TOKEN_TIMEOUT": 60.0, "TOKEN_GAP_TIMEOUT": 20.0,
                            "TOTAL_TIMEOUT": 120.0}
    settings.TANKARD_LLM_MODEL = ""
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    reset_breakers()
    supervisor = LocalModelSupervisor(port=port, threads=2, context_window=2048, restart_backoff=(0.2,))
    supervisor.start()
    try:
        assert supervisor.wait_ready(120), "the local model server did not become ready"
        yield supervisor
    finally:
        supervisor.stop()
        reset_breakers()


async def test_injections_against_the_local_model__canary_never_shown(world, local_model):
    _, cookie = await database_sync_to_async(game_with_cookie)()
    comm, _ = await ready(cookie)
    for n, line in enumerate(LINES):
        frames = await play(comm, line, f"local-{n}", kind="say", timeout=150)
        end = frames[-1]
        assert end["type"] == "npc.end" and end["text"].strip()
        assert not squashed_canary_in(json.dumps(frames)), (line, end["text"])
    await comm.disconnect()
