"""Redis killed and restarted under live games (a private redis-server as cache and channel layer):
the cache degrades to a miss, turns keep committing, open sockets stay open, new sockets get in,
and after the restart the tabs hear each other again and a reconnecting client resumes intact."""
from __future__ import annotations

import asyncio
import time

import pytest
from channels.db import database_sync_to_async

from gameplay import consumers
from gameplay.models import Game, Turn
from tests.faults.conftest import redis_settings
from tests.websocket import drain, game_with_cookie, play, ready

pytestmark = [pytest.mark.django_db(transaction=True)]


async def pushed_state(tab, timeout: float = 0.5) -> dict | None:
    return next((f for f in await drain(tab, timeout) if f["type"] == "state"), None)


async def test_redis_killed_mid_play__turns_commit_and_clients_resume(world, private_redis, settings, monkeypatch):
    monkeypatch.setattr(consumers, "GROUP_REFRESH_SECONDS", 0.5)
    redis_settings(settings, private_redis.url)
    game_id, cookie = await database_sync_to_async(game_with_cookie)()
    tab1, _ = await ready(cookie)
    tab2, _ = await ready(cookie)
    assert (await play(tab1, "buy ale", "up"))[-1]["type"] == "narration"
    assert (await pushed_state(tab2))["player"]["gold"] == 17, "the other tab hears of the turn"

    private_redis.kill()
    for n in range(3):
        final = (await play(tab1, "buy candle", f"down-{n}"))[-1]
        assert final["type"] == "narration", final
    late, state = await ready(cookie)  # a socket opened during the outage gets in and plays
    assert state["player"]["gold"] == 14
    assert (await play(late, "look", "late"))[-1]["type"] == "narration"

    private_redis.start()
    deadline = time.monotonic() + 10
    heard = None
    while heard is None and time.monotonic() < deadline:  # sockets rejoin their group after a retry
        await play(tab1, "wait", f"w{time.monotonic()}")
        heard = await pushed_state(tab2)
        await asyncio.sleep(0.5)
    assert heard is not None, "tabs hear each other again after Redis is back"
    for tab in (tab1, tab2, late):
        await tab.disconnect()

    again, state = await ready(cookie)
    assert state["player"]["gold"] == 14 and {"slug": "candle", "name": "tallow candle", "qty": 3} in state["inventory"]
    game = await Game.objects.aget(pk=game_id)
    turns = [t async for t in Turn.objects.filter(game_id=game_id).order_by("id")]
    assert [t.client_id for t in turns[:5]] == ["up", "down-0", "down-1", "down-2", "late"]
    assert game.version == 4 + sum(t.text == "wait" for t in turns)
    await again.disconnect()
