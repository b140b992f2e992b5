"""Scale-out for real: two daphne processes and a Celery worker on one Postgres and one Redis.

Games live in the database and frames travel through the Redis channel layer, so a game started on
one process resumes on another, a turn played on one process reaches a tab held by the other, and
work finished by a Celery worker reaches a player's socket wherever it is held. The load balancer
in front of such processes therefore needs no sticky sessions (docs/scaling.md).
"""
from __future__ import annotations

import asyncio
import json
import os
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from websockets.asyncio.client import connect

from bench.loadtest import http_get_session, main_async, parse_args
from tests.llm.fake_openai import FakeOpenAI, Reply
from tests.scale.servers import BIN, Proc, free_port, manage

pytestmark = [pytest.mark.services]
FINAL = {"narration", "npc.end", "error"}


@dataclass
class Cluster:
    urls: tuple[str, str]
    env: dict[str, str]
    redis_url: str


@pytest.fixture(scope="module")
def cluster(postgres_url, redis_url, tmp_path_factory):
    """Migrate a fresh database, then start daphne A, daphne B and a Celery worker."""
    logs = tmp_path_factory.mktemp("scale-logs")
    with FakeOpenAI(default=Reply("Aye, the cellar's quiet tonight.", tokens_per_second=50)) as fake:
        env = {
            **os.environ, "DATABASE_URL": postgres_url, "REDIS_URL": redis_url, "OPENAI_BASE_URL": fake.base_url,
            "OPENAI_API_KEY": "scale-test", "TANKARD_LLM_MODEL": "", "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "TANKARD_NEW_GAMES_PER_HOUR": "100000",
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
            procs.append(Proc("celery", [str(BIN / "celery"), "-A", "tankard_site", "worker", "-l", "info", "-P", "solo",
                                         "--without-gossip", "--without-mingle", "--without-heartbeat"], env, logs))
            urls = tuple(f"http://127.0.0.1:{p}" for p in ports)
            for proc, url in zip(procs, urls):
                proc.wait_for_http(url + "/", timeout=60)
            procs[2].wait_for_output("ready.", timeout=60)
            yield Cluster(urls=urls, env=env, redis_url=redis_url)
        finally:
            for proc in procs:
                proc.stop()


@asynccontextmanager
async def tab(url: str, cookie: str):
    """A browser tab: the game's socket on the process at `url`, its state and history read."""
    ws = await connect(url.replace("http", "ws", 1) + "/ws/play/", origin=url, additional_headers={"Cookie": cookie}, open_timeout=10)
    try:
        state, history = await receive(ws, 10), await receive(ws, 10)
        assert state["type"] == "state" and history["type"] == "history"
        ws.first_state, ws.history = state, history
        yield ws
    finally:
        await ws.close()


async def receive(ws, timeout: float) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def play(ws, text: str, msg_id: str) -> dict:
    await ws.send(json.dumps({"type": "command", "id": msg_id, "text": text}))
    return await frame_where(ws, lambda f: f.get("reply_to") == msg_id and f["type"] in FINAL)


async def frame_where(ws, match, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        frame = await receive(ws, max(0.1, deadline - time.monotonic()))
        if match(frame):
            return frame


async def test_game_started_on_a__resumes_on_b(cluster):
    a, b = cluster.urls
    cookie = await http_get_session(a)
    async with tab(a, cookie) as on_a:
        game_id = on_a.first_state["session"]
        assert (await play(on_a, "go to the kitchen", "r1"))["type"] == "narration"
    async with tab(b, cookie) as on_b:
        assert on_b.first_state["session"] == game_id
        assert on_b.first_state["location"]["slug"] == "kitchen"
        assert on_b.history["turns"][-1]["text"] == "go to the kitchen"
        assert (await play(on_b, "look", "r2"))["type"] == "narration"


async def test_turn_on_a__pushes_state_to_a_tab_on_b(cluster):
    a, b = cluster.urls
    cookie = await http_get_session(b)
    async with tab(a, cookie) as on_a, tab(b, cookie) as on_b:
        gold = on_b.first_state["player"]["gold"]
        await play(on_a, "buy ale", "t1")
        pushed = await frame_where(on_b, lambda f: f["type"] == "state")
        assert pushed["player"]["gold"] == gold - 3
        assert {"slug": "ale", "name": "mug of ale", "qty": 1} in pushed["inventory"]


async def test_celery_worker__push_reaches_the_socket_on_b(cluster):
    from celery import Celery

    a, b = cluster.urls
    cookie = await http_get_session(a)
    async with tab(b, cookie) as on_b:
        game_id = on_b.first_state["session"]
        broker = Celery("scale-test", broker=cluster.redis_url)
        broker.send_task("gameplay.tasks.announce", args=[game_id, "A wet dog shakes itself by the fire."])
        frame = await frame_where(on_b, lambda f: f["type"] == "narration", timeout=20)
        assert frame == {"type": "narration", "reply_to": None, "text": "A wet dog shakes itself by the fire."}
        broker.close()


async def test_admin_edit__reaches_running_games_on_both_processes(cluster):
    a, b = cluster.urls
    cookies = [await http_get_session(a), await http_get_session(b)]
    async with tab(a, cookies[0]) as on_a, tab(b, cookies[1]) as on_b:
        await play(on_a, "look", "w1")  # both processes hold the world now
        await play(on_b, "look", "w2")
        edit = "from gameplay.models import Item; ale = Item.objects.get(slug='ale'); ale.price = 6; ale.save()"
        await asyncio.to_thread(manage, cluster.env, "shell", "-c", edit)
        for ws, msg_id in ((on_a, "w3"), (on_b, "w4")):
            gold = ws.first_state["player"]["gold"]
            await play(ws, "buy ale", msg_id)
            state = await frame_where(ws, lambda f: f["type"] == "state")
            assert state["player"]["gold"] == gold - 6


async def test_loadtest__short_run_over_both_processes_loses_nothing(cluster):
    args = parse_args(["--url", cluster.urls[0], "--url", cluster.urls[1], "--steps", "4", "--step-seconds", "3", "--join-rate", "20"])
    summary = await main_async(args)
    assert summary["connected"] == 4 and not summary["failed_connects"]
    assert summary["lost"] == 0
    step = summary["steps"][0]
    assert step["sent"] > 0 and not step["errors"]
