"""Shared taverns across two daphne processes on one Postgres and one Redis, as on one process:
players whose sockets are held by different processes see each other, hear each other's words
aloud and the NPC's reply, wait their turn in one NPC line, never hear each other's whispers
(the twenty-whisperer leak scenario, split over both processes), and are all shown out when staff
close the tavern."""
from __future__ import annotations

import asyncio
import json
import os
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from websockets.asyncio.client import connect

from bench.loadtest import http_get_session
from tests.llm.fake_openai import FakeOpenAI, Reply
from tests.scale.servers import BIN, Proc, free_port, manage
from tests.security.tavern_leak import BlurtingModel, leaks_found, play_scenario, secret_for

pytestmark = [pytest.mark.services]


@dataclass
class Cluster:
    urls: tuple[str, str]
    env: dict[str, str]
    model: FakeOpenAI


@pytest.fixture(scope="module")
def cluster(postgres_url, redis_url, tmp_path_factory):
    """Migrate a fresh database, then start daphne A and daphne B on it and on Redis."""
    logs = tmp_path_factory.mktemp("tavern-scale-logs")
    with FakeOpenAI(default=BlurtingModel()) as fake:
        env = {
            **os.environ, "DATABASE_URL": postgres_url, "REDIS_URL": redis_url, "OPENAI_BASE_URL": fake.base_url,
            "OPENAI_API_KEY": "scale-test", "TANKARD_LLM_MODEL": "", "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "TANKARD_NEW_GAMES_PER_HOUR": "100000", "TANKARD_NEW_TAVERNS_PER_HOUR": "100000",
            "TANKARD_MEMORY_USE_LLM": "false",  # no background prompts: every prompt is an NPC's reply to a player
            "DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "scale-test-key-not-secret", "DJANGO_SECURE_SSL_REDIRECT": "false",
            "CELERY_TASK_ALWAYS_EAGER": "false", "PYTHONUNBUFFERED": "1",
        }
        manage(env, "migrate", "--noinput")
        ports = (free_port(), free_port())
        procs: list[Proc] = []
        try:
            for port in ports:
                procs.append(Proc(f"daphne-{port}", [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port),
                                                     "tankard_site.asgi:application"], env, logs))
            urls = tuple(f"http://127.0.0.1:{p}" for p in ports)
            for proc, url in zip(procs, urls):
                proc.wait_for_http(url + "/", timeout=60)
            yield Cluster(urls=urls, env=env, model=fake)
        finally:
            for proc in procs:
                proc.stop()


class Player:
    """A websocket to a game in a shared tavern, on one process, every frame it receives kept."""

    def __init__(self, ws) -> None:
        self.ws, self.frames = ws, []
        self._arrived = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            async with self._arrived:
                self.frames.append(json.loads(raw))
                self._arrived.notify_all()

    async def send(self, frame: dict) -> None:
        await self.ws.send(json.dumps(frame))

    async def until(self, match, timeout: float = 30) -> dict:
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: any(match(f) for f in self.frames)), timeout)
            return next(f for f in self.frames if match(f))

    @property
    def state(self) -> dict:
        return [f for f in self.frames if f["type"] == "state"][-1]


@asynccontextmanager
async def players(urls: tuple[str, ...], tavern: str, count: int):
    """`count` new players in the shared tavern, their sockets spread over the processes in turn."""
    opened = []
    try:
        for i in range(count):
            url = urls[i % len(urls)]
            cookie = await http_get_session(url)
            ws = await connect(url.replace("http", "ws", 1) + f"/ws/play/?tavern={tavern}", origin=url,
                               additional_headers={"Cookie": cookie}, open_timeout=15)
            player = Player(ws)
            await player.until(lambda f: f["type"] == "history")
            opened.append(player)
        yield opened
    finally:
        for player in opened:
            await player.ws.close()
            player._reader.cancel()


async def test_players_on_two_processes__meet_hear_words_aloud_and_wait_their_turn(cluster):
    blurting = cluster.model.default
    cluster.model.default = BlurtingModel(tokens_per_second=15, padding=2)  # a second or more: the second asker waits
    try:
        async with players(cluster.urls, "two-roads", 2) as (ann, bob):
            bob_name = bob.state["tavern"]["you"]
            assert await ann.until(lambda f: f["type"] == "room.join") == {"type": "room.join", "name": bob_name}
            assert sorted(bob.state["players"]) == sorted([bob_name, ann.state["tavern"]["you"]])

            await ann.send({"type": "say", "id": "a1", "npc": "gareth", "text": "How is the river running?"})
            await ann.until(lambda f: f.get("reply_to") == "a1" and f["type"] == "npc.token")
            await bob.send({"type": "say", "id": "b1", "npc": "gareth", "text": "And the mill?"})
            mine = await ann.until(lambda f: f.get("reply_to") == "a1" and f["type"] == "npc.end")
            theirs = await bob.until(lambda f: f.get("reply_to") == "b1" and f["type"] == "npc.end")
            river = (await bob.until(lambda f: f["type"] == "room.say" and "river" in f["text"]))["said"]
            mill = (await ann.until(lambda f: f["type"] == "room.say" and "mill" in f["text"]))["said"]
            heard_by_bob = await bob.until(lambda f: f["type"] == "room.npc.end" and f["said"] == river)
            heard_by_ann = await ann.until(lambda f: f["type"] == "room.npc.end" and f["said"] == mill)
            assert heard_by_bob["text"] == mine["text"] and heard_by_ann["text"] == theirs["text"]
            streamed = "".join(f["text"] for f in bob.frames if f["type"] == "room.npc.token" and f["said"] == heard_by_bob["said"])
            assert streamed.strip() == mine["text"]
            # One Gareth for both processes: Bob, on the other one, waited for Ann's reply to end.
            waited = next(f for f in bob.frames if f["type"] == "npc.thinking")
            assert "raises a hand over the din" in waited["text"]
            assert bob.frames.index(heard_by_bob) < next(i for i, f in enumerate(bob.frames) if f["type"] == "npc.start")

            cluster.model.default = blurting  # one sentence a reply again: none repeats what Gareth told Bob before
            password = secret_for(99)
            await bob.send({"type": "command", "id": "w1", "text": f"whisper gareth the password is {password}"})
            await bob.until(lambda f: f.get("reply_to") == "w1" and f["type"] == "npc.end")
            await ann.send({"type": "command", "id": "l1", "text": "look"})
            await ann.until(lambda f: f.get("reply_to") == "l1")
            assert password in json.dumps(bob.frames) and password not in json.dumps(ann.frames)
    finally:
        cluster.model.default = blurting


async def test_twenty_whisperers_over_two_processes__no_secret_reaches_another(cluster):
    cluster.model.reset()
    secrets = [secret_for(i) for i in range(20)]
    async with players(cluster.urls, "whispers-on-redis", 20) as seated:
        await play_scenario(seated, secrets, timeout=240)
        leaks = leaks_found(seated, secrets, cluster.model.chat_requests)
    assert leaks.found == 0, leaks
    assert leaks.own_secrets_heard == 20 and leaks.room_heard_in_prompts > 0


async def test_staff_close__shows_out_everyone_on_both_processes(cluster):
    async with players(cluster.urls, "last-orders", 4) as seated:
        close = "from gameplay.models import Tavern; from gameplay.tavern.services import tavern_close; " \
                "print(tavern_close(tavern_id=Tavern.objects.get(name='last-orders').id))"
        assert (await asyncio.to_thread(manage, cluster.env, "shell", "-c", close)).strip().endswith("True")
        for player in seated:
            await player.until(lambda f: f.get("code") == "tavern_closed")
            await asyncio.wait_for(player.ws.wait_closed(), 15)
            assert player.ws.close_code == 4002
