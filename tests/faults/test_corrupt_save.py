"""A saved game corrupted on disk: detected on load, restored from the last good snapshot and the
player told in the world, over the websocket; a game beyond repair gives way to a new one instead
of a door that never opens."""
from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.test import AsyncClient

from gameplay.models import Game, GameSnapshot
from gameplay.rules.state import state_checksum
from gameplay.services import RESTORED_TEXT
from tests.websocket import connect, drain, game_with_cookie, play, ready

pytestmark = [pytest.mark.django_db(transaction=True)]


async def bought_an_ale(cookie: str) -> None:
    comm, _ = await ready(cookie)
    assert (await play(comm, "buy ale", "ale"))[-1]["type"] == "narration"
    await comm.disconnect()


@pytest.mark.parametrize("corruption", ["bad_shape", "tampered"])
async def test_corrupted_state__restored_from_snapshot_and_told(world, corruption):
    game_id, cookie = await database_sync_to_async(game_with_cookie)()
    await bought_an_ale(cookie)
    game = await Game.objects.aget(pk=game_id)
    if corruption == "bad_shape":
        await Game.objects.filter(pk=game_id).aupdate(state={"minute": "garbage", "gold": [1]})
    else:  # a hand-edited row: valid JSON, more gold, the old checksum
        await Game.objects.filter(pk=game_id).aupdate(state={**game.state, "gold": 999})

    comm, state = await ready(cookie)
    assert state["player"]["gold"] == 17 and state["inventory"][0]["slug"] == "ale"
    frames = await play(comm, "look", "after")
    frames += await drain(comm)
    assert any(f["type"] == "state" and f["player"]["gold"] == 17 for f in frames)
    told = [f for f in frames if f["type"] == "narration" and f["reply_to"] is None]
    assert [f["text"] for f in told] == [RESTORED_TEXT]
    repaired = await Game.objects.aget(pk=game_id)
    assert repaired.checksum == state_checksum(repaired.state) and repaired.state["gold"] == 17
    assert repaired.version == game.version + 1
    await comm.disconnect()


async def test_state_and_every_snapshot_corrupted__no_game_then_a_fresh_game(world):
    game_id, cookie = await database_sync_to_async(game_with_cookie)()
    await bought_an_ale(cookie)
    await Game.objects.filter(pk=game_id).aupdate(state=[1, 2, 3])
    await GameSnapshot.objects.filter(game_id=game_id).aupdate(checksum="0" * 64)

    comm, connected = await connect(cookie)
    assert connected
    frame = await comm.receive_json_from()
    assert frame["type"] == "error" and frame["code"] == "no_game"
    assert (await comm.receive_output())["code"] == 4001

    client = AsyncClient()
    client.cookies["sessionid"] = cookie.split("=", 1)[1]
    page = await client.get("/")  # what the client does on no_game
    assert page.status_code == 200
    comm, state = await ready(cookie)
    assert state["session"] != game_id and state["player"]["gold"] == 20
    await comm.disconnect()
