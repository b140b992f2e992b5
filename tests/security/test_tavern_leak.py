"""Whispers in a shared tavern never leak: twenty players in one room each whisper a secret; every
frame every other player received, every prompt made for them, the reply cache and the room's
memory are searched, and no secret of one player is found anywhere another could come by it.
The model here blurts out every secret its prompt holds, so a whisper recalled into the wrong
prompt would show up in that player's frames as well as in the prompt."""
from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async

from gameplay.models import Tavern
from gameplay.tavern.memory import room_memory_id
from llm.models import ReplyCacheEntry, ReplyDemand
from memory.models import MemoryRecord
from tests.security.tavern_leak import BlurtingModel, leaks_found, play_scenario, secret_for
from tests.websocket import connect, game_with_cookie

pytestmark = [pytest.mark.django_db(transaction=True)]
PLAYERS = 20


class InProcessPlayer:
    """A socket on the in-process application, every frame it receives kept in order."""

    def __init__(self, comm) -> None:
        self.comm, self.frames = comm, []
        self._arrived = asyncio.Condition()
        self._pump = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            frame = await self.comm.receive_json_from(timeout=600)
            async with self._arrived:
                self.frames.append(frame)
                self._arrived.notify_all()

    async def send(self, frame: dict) -> None:
        await self.comm.send_json_to(frame)

    async def until(self, match) -> dict:
        async with self._arrived:
            await self._arrived.wait_for(lambda: any(match(f) for f in self.frames))
            return next(f for f in self.frames if match(f))

    async def close(self) -> None:
        self._pump.cancel()
        await asyncio.gather(self._pump, return_exceptions=True)
        await self.comm.disconnect()


async def test_twenty_whisperers__no_secret_reaches_another_player_or_their_prompts(world, fake_llm, settings):
    fake_llm.default = BlurtingModel()
    settings.TANKARD_MEMORY = {**settings.TANKARD_MEMORY, "USE_LLM": False}  # no background prompts to attribute
    secrets = [secret_for(i) for i in range(PLAYERS)]
    players, cookies = [], []
    for _ in range(PLAYERS):
        _, cookie = await sync_to_async(game_with_cookie)("leak")
        comm, connected = await connect(cookie, tavern="whispering-hall")
        assert connected
        players.append(InProcessPlayer(comm))
        cookies.append(cookie)
    await asyncio.gather(*(p.until(lambda f: f["type"] == "history") for p in players))

    await play_scenario(players, secrets)
    for player, cookie in zip(players, cookies):  # a player who comes back sees their own history, and only theirs
        again, _ = await connect(cookie, tavern="whispering-hall")
        player.frames += [await again.receive_json_from(timeout=5), await again.receive_json_from(timeout=5)]
        assert player.frames[-1]["type"] == "history"
        await again.disconnect()

    leaks = leaks_found(players, secrets, fake_llm.chat_requests)
    assert leaks.found == 0, leaks
    assert leaks.own_secrets_heard == PLAYERS  # each whisperer was answered, with their own secret
    assert leaks.room_heard_in_prompts > 0  # the room's memory of words said aloud reached other players' prompts
    assert any(f["type"] == "room.npc.token" for f in players[0].frames)  # and the room heard replies streamed

    tavern = await sync_to_async(Tavern.objects.get)(name="whispering-hall")
    stored = await sync_to_async(lambda: [
        *ReplyCacheEntry.objects.values_list("text", flat=True), *ReplyDemand.objects.values_list("line", flat=True),
        *MemoryRecord.objects.filter(game_id=room_memory_id(tavern.id)).values_list("text", flat=True)])()
    assert stored and not [s for s in secrets if s in json.dumps(stored)]
    for player in players:
        await player.close()
