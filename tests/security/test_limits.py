"""Limits answered in the world: each with an `error` frame and its code, nothing applied, and the
connection usable afterwards. The per-game turn limit is an atomic counter in the cache, so it
holds across processes (checked against the machine's Redis, database 14)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from channels.db import database_sync_to_async

from gameplay import limits
from gameplay.models import Game, Turn
from tests.faults.conftest import redis_settings
from tests.websocket import drain, game_with_cookie, play, ready, until_final
from tests.llm.fake_openai import Reply

ROOT = Path(__file__).resolve().parents[2]
LIMIT_REDIS_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture
def limit_redis() -> str:
    """The machine's Redis, database 14, flushed; skipped when it does not answer, unless CI=true."""
    import redis

    client = redis.Redis.from_url(LIMIT_REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis does not answer at {LIMIT_REDIS_URL} (CI must have it)")
        pytest.skip(f"Redis does not answer at {LIMIT_REDIS_URL}")
    client.flushdb()
    yield LIMIT_REDIS_URL
    client.flushdb()
    client.close()


def time_travel(monkeypatch, seconds: float) -> None:
    """Move the limits' clock (only theirs) on, as if a window had passed."""
    now = time.time()
    monkeypatch.setattr(limits, "time", SimpleNamespace(time=lambda: now + seconds))


# --- the player's line -------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
async def test_line_length__counted_in_characters_refused_in_the_world_then_usable(world, settings):
    settings.TANKARD_MAX_LINE_CHARS = 20
    game_id, cookie = await database_sync_to_async(game_with_cookie)()
    comm, _ = await ready(cookie)

    long = (await play(comm, "é" * 21, "long"))[-1]
    assert long["type"] == "error" and long["code"] == "too_long" and "é" not in long["text"]
    fits = (await play(comm, "look" + " " * 40 + "\u200b" * 30, "fits"))[-1]  # whitespace and invisibles do not count
    assert fits["type"] == "narration"
    assert not await Turn.objects.filter(game_id=game_id, client_id="long").aexists()
    await comm.disconnect()


# --- turns per minute --------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("cache", ["local", pytest.param("redis", marks=pytest.mark.services)])
async def test_turn_rate_limit__refused_in_the_world_then_usable_after_the_window(world, settings, monkeypatch, request, cache):
    if cache == "redis":
        redis_settings(settings, request.getfixturevalue("limit_redis"))
    settings.TANKARD_TURNS_PER_MINUTE = 5
    game_id, cookie = await database_sync_to_async(game_with_cookie)()
    comm, _ = await ready(cookie)
    for n in range(5):
        assert (await play(comm, "look", f"ok-{n}"))[-1]["type"] == "narration"
    refused = (await play(comm, "buy ale", "over"))[-1]
    assert refused["type"] == "error" and refused["code"] == "rate_limited" and refused["text"]
    game = await Game.objects.aget(pk=game_id)
    assert game.version == 0 and game.state["gold"] == 20, "nothing applied"
    assert not await Turn.objects.filter(game_id=game_id, client_id="over").aexists()

    time_travel(monkeypatch, 61)
    again = (await play(comm, "buy ale", "over"))[-1]  # the same id, resent later: applied now, once
    assert again["type"] == "narration" and "replayed" not in again
    await drain(comm)
    await comm.disconnect()


# Another server process, cut to what the limit needs: the cache settings of settings.py with REDIS_URL.
COUNTING_PROCESS = """
import json, sys, time
from django.conf import settings
settings.configure(TANKARD_TURNS_PER_MINUTE=40, CACHES={"default": {
    "BACKEND": "django_redis.cache.RedisCache", "LOCATION": sys.argv[3], "KEY_PREFIX": "tankard",
    "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "IGNORE_EXCEPTIONS": True}}})
from gameplay import limits
limits.turn_allowed(game_id="warm-up")
time.sleep(max(0.0, float(sys.argv[4]) - time.time()))  # all processes start counting together
print(json.dumps([limits.turn_allowed(game_id=sys.argv[1]) for _ in range(int(sys.argv[2]))]))
"""


@pytest.mark.services
def test_turn_rate_limit__holds_across_processes(limit_redis):
    """Three processes each try 30 turns of one game at once: exactly the limit get through."""
    game_id = str(uuid.uuid4())
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    start = str(time.time() + 2.5)
    procs = [subprocess.Popen([sys.executable, "-c", COUNTING_PROCESS, game_id, "30", limit_redis, start], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results += json.loads(out.strip().splitlines()[-1])

    assert len(results) == 90 and sum(results) == 40


# --- LLM tokens per hour -----------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
async def test_llm_token_budget__spent_means_persona_fallback_without_asking_the_model(world, fake_llm, settings, monkeypatch):
    settings.TANKARD_REPLY_CACHE = {**settings.TANKARD_REPLY_CACHE, "ENABLED": False}
    settings.TANKARD_LLM_TOKENS_PER_HOUR = 30  # one fake reply costs more than that
    fake_llm.default = Reply("Aye, the ale is fresh today and the stew is hot.")
    game_id, cookie = await database_sync_to_async(game_with_cookie)()
    comm, _ = await ready(cookie)

    first = (await play(comm, "What's good today?", "b1", kind="say"))[-1]
    assert first["source"] == "llm" and fake_llm.chat_count == 1
    for n in range(3):
        frames = await play(comm, f"And what else, friend? ({n})", f"b{n + 2}", kind="say")
        assert frames[-1]["type"] == "npc.end" and frames[-1]["source"] == "fallback" and frames[-1]["text"], frames[-1]
    assert fake_llm.chat_count == 1, "a spent budget asks the model nothing"

    time_travel(monkeypatch, 3601)
    fake_llm.script(Reply("A new hour, and the stew is still hot, friend."))  # not the first reply again: that is held back
    assert (await play(comm, "A new hour, a new question?", "b9", kind="say"))[-1]["source"] == "llm"
    assert fake_llm.chat_count == 2
    await comm.disconnect()


# --- frames ------------------------------------------------------------------------------------------
BAD_FRAMES = [
    ("not json", "bad_frame", None),
    ("", "bad_frame", None),
    ("null", "bad_frame", None),
    ('"a string"', "bad_frame", None),
    ("[1, 2]", "bad_frame", None),
    ("[" * 4000 + "]" * 4000, "bad_frame", None),  # deeper than the JSON parser's recursion limit
    ('{"type": "command", "id": "n1", "text": "look"', "bad_frame", None),
    (json.dumps({"type": "command", "id": True, "text": "look"}), "bad_frame", None),
    (json.dumps({"type": "command", "id": 1.5, "text": "look"}), "bad_frame", None),
    (json.dumps({"type": "command", "id": "x" * 65, "text": "look"}), "bad_frame", None),
    (json.dumps({"type": "command", "id": "nul\u0000", "text": "look"}), "bad_frame", None),
    ('{"type": "command", "id": "sur\\ud800", "text": "look"}', "bad_frame", None),
    ('{"type": "command", "id": ' + "9" * 5000 + ', "text": "look"}', "bad_frame", None),
    (json.dumps({"type": ["command"], "id": "t1", "text": "look"}), "unknown_type", "t1"),
    (json.dumps({"type": "COMMAND", "id": "t2", "text": "look"}), "unknown_type", "t2"),
    (json.dumps({"id": "t3", "text": "look"}), "unknown_type", "t3"),
    (json.dumps({"type": "command", "id": "t4", "text": {"nested": "look"}}), "bad_frame", "t4"),
    (json.dumps({"type": "command", "id": "t5", "text": "\u0000\u200b\u202e "}), "missing_field", "t5"),
    (json.dumps({"type": "say", "id": "t6", "npc": ["gareth"], "text": "hi"}), "bad_frame", "t6"),
    (json.dumps({"type": "say", "id": "t7", "npc": "   ", "text": "hi"}), "missing_field", "t7"),
    (json.dumps({"type": "say", "id": "t8", "npc": "nobody-at-all", "text": "hi"}), "unknown_npc", "t8"),
    (json.dumps({"type": "command", "id": "t9", "text": "look " * 200}), "too_long", "t9"),
    (json.dumps({"type": "command", "id": "t10", "text": "é" * 4200}), "frame_too_large", None),
]


@pytest.mark.django_db(transaction=True)
async def test_malformed_and_oversized_frames__one_error_each_and_the_socket_stays_usable(world):
    game_id, cookie = await database_sync_to_async(game_with_cookie)()
    comm, _ = await ready(cookie)
    for raw, code, reply_to in BAD_FRAMES:
        await comm.send_input({"type": "websocket.receive", "text": raw})  # send_to refuses an empty frame
        frame = await comm.receive_json_from(timeout=5)
        assert frame["type"] == "error" and frame["code"] == code and frame["reply_to"] == reply_to, (raw[:60], frame)
        assert frame["text"] and "Traceback" not in frame["text"] and "Error" not in frame["text"]
    await comm.send_to(bytes_data=b"\xff\xfe binary")
    assert (await comm.receive_json_from())["code"] == "bad_frame"
    assert await comm.receive_nothing(0.2), "exactly one answer per bad frame"

    assert (await play(comm, "buy ale", "after"))[-1]["type"] == "narration"
    game = await Game.objects.aget(pk=game_id)
    assert game.version == 1 and await Turn.objects.filter(game_id=game_id).acount() == 1  # only the good frame
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_frame_exactly_at_the_size_limit__is_read(world, settings):
    _, cookie = await database_sync_to_async(game_with_cookie)()
    comm, _ = await ready(cookie)
    frame = {"type": "command", "id": "edge", "text": "look", "pad": ""}
    frame["pad"] = "p" * (settings.TANKARD_MAX_FRAME_BYTES - len(json.dumps(frame)))
    assert len(json.dumps(frame).encode()) == settings.TANKARD_MAX_FRAME_BYTES
    await comm.send_to(text_data=json.dumps(frame))
    assert (await until_final(comm, "edge"))[-1]["type"] == "narration"
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_frame_flood__bounded_work_per_socket_and_one_final_each(world, fake_llm, settings, monkeypatch):
    """Free text goes to the narrator (the model): slow turns that would otherwise pile up."""
    from gameplay import consumers

    settings.TANKARD_TURNS_PER_MINUTE = 10**6
    settings.TANKARD_LLM_TOKENS_PER_HOUR = 10**9
    fake_llm.default = Reply("You dance, badly; nobody claps.", first_token_delay=0.3)
    running, most = 0, 0
    real = consumers.aframe_play

    async def counted(**kwargs):
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await real(**kwargs)
        finally:
            running -= 1

    monkeypatch.setattr(consumers, "aframe_play", counted)
    _, cookie = await database_sync_to_async(game_with_cookie)()
    comm, _ = await ready(cookie)
    for n in range(100):
        line = f"I dance on table number {n}"
        await comm.send_input({"type": "websocket.receive", "text": json.dumps({"type": "command", "id": f"fl{n}", "text": line})})
    finals = {}
    while len(finals) < 100:
        frame = await comm.receive_json_from(timeout=20)
        if frame["type"] in {"narration", "error"}:
            assert frame["reply_to"] not in finals
            finals[frame["reply_to"]] = frame
    refused = [f for f in finals.values() if f["type"] == "error"]
    assert most <= consumers.MAX_TURNS_IN_FLIGHT
    assert refused and all(f["code"] == "rate_limited" for f in refused)
    assert (await play(comm, "look", "calm-again"))[-1]["type"] == "narration"
    await comm.disconnect()
