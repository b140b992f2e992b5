"""Fixtures for the reply cache tests: fresh cache levels, and players with their own games."""
from __future__ import annotations

import itertools

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache

from gameplay import services
from llm.reply_cache import memory_clear
from llm.reply_cache.matcher import _matches
from tests.websocket import connect, until_final
from tests.llm.fake_openai import Reply

_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_cache_levels():
    """Each test starts with empty fast levels (the database level is emptied with the database)."""
    memory_clear()
    _matches.clear()
    cache.clear()
    yield
    memory_clear()
    cache.clear()


def _player() -> tuple[str, str]:
    game = services.game_create(session_key=f"cache-{next(_ids)}")
    session = SessionStore()
    session["game_id"] = str(game.id)
    session.create()
    return str(game.id), f"sessionid={session.session_key}"


@pytest.fixture
def fake_llm(fake_llm):
    """The scripted model, whose unscripted reply names the NPCs players meet first, a drink and a
    dish: asked its name, or what there is to drink or eat, an NPC must say it, or its reply is
    neither shown nor kept (gameplay/voice_prompt.py)."""
    fake_llm.default = Reply("Aye, Gareth Rusk here and Wren Abney, with ale and stew tonight.")
    return fake_llm


@pytest.fixture
def new_player(world):
    """`await new_player()`: a new game in its own browser session: (game id, cookie)."""
    return database_sync_to_async(_player)


async def ask(cookie: str, text: str, *, npc: str = "gareth", cid: str | None = None, timeout: float = 8) -> list[dict]:
    """Open a socket, say one line, return the frames up to the final one, close."""
    cid = cid or f"s{next(_ids)}"
    comm, connected = await connect(cookie)
    assert connected
    await comm.receive_json_from()  # state
    await comm.receive_json_from()  # history
    await comm.send_json_to({"type": "say", "id": cid, "npc": npc, "text": text})
    frames = await until_final(comm, cid, timeout=timeout)
    await comm.disconnect()
    return frames


async def send_frame(cookie: str, frame: dict, *, timeout: float = 8) -> list[dict]:
    comm, _ = await connect(cookie)
    await comm.receive_json_from()
    await comm.receive_json_from()
    await comm.send_json_to(frame)
    frames = await until_final(comm, frame.get("id"), timeout=timeout)
    await comm.disconnect()
    return frames
