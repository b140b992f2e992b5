"""A few injection lines against the REAL local model (llama.cpp, supervised on a free port): a
tiny model falls for them readily, and the leak guard must still keep the canary from the player."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from channels.db import database_sync_to_async

from tests.llm.local_model import local_model_supervised
from tests.websocket import game_with_cookie, play, ready
from tests.security.support import squashed_canary_in

pytestmark = [pytest.mark.localmodel, pytest.mark.django_db(transaction=True)]

LINES = [json.loads((Path(__file__).parent / "injections.json").read_text())[i] for i in (0, 2, 19)]


@pytest.fixture
def local_model(monkeypatch, settings):
    with local_model_supervised(monkeypatch, settings, context_window=2048, CONTEXT_WINDOW=2048, MAX_REPLY_TOKENS=48,
                                FIRST_TOKEN_TIMEOUT=60.0, TOKEN_GAP_TIMEOUT=20.0, TOTAL_TIMEOUT=120.0) as supervisor:
        yield supervisor


async def test_injections_against_the_local_model__canary_never_shown(world, local_model):
    _, cookie = await database_sync_to_async(game_with_cookie)()
    comm, _ = await ready(cookie)
    for n, line in enumerate(LINES):
        frames = await play(comm, line, f"local-{n}", kind="say", timeout=150)
        end = frames[-1]
        assert end["type"] == "npc.end" and end["text"].strip()
        assert not squashed_canary_in(json.dumps(frames)), (line, end["text"])
    await comm.disconnect()
