"""The model failing under a conversation: cut mid-stream, hanging, answering 500, sending junk,
or the player leaving mid-reply. Each time the reply ends in character, the turn is stored exactly
once and the game's version moves exactly once; a resend of the same id is a replay."""
from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async

from gameplay.models import Game, Turn
from tests.websocket import drain, game_with_cookie, play, ready
from tests.llm.fake_openai import Fail, Hang, Reply

pytestmark = [pytest.mark.django_db(transaction=True)]
TECHNICAL = ("error", "500", "model", "server", "exception", "timeout", "traceback", "llm", "http")

FAULTS = {
    "cut": (Reply("Well now, the cellar is where we keep the old casks and the", cut_after=5),),
    "hang": (Hang(), Hang()),
    "http_500": (Fail(500), Fail(500), Fail(500)),
    "malformed": (Reply("Aye, there's a tale about that old well out back.", malformed_after=3),),
    "stall": (Reply("Let me think on that a while, friend.", stall_after=2, stall=5.0),),
}


@pytest.fixture(autouse=True)
def no_reply_cache(settings):
    settings.TANKARD_REPLY_CACHE = {**settings.TANKARD_REPLY_CACHE, "ENABLED": False}


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_model_fault__in_character_reply_stored_once_version_moves_once(world, fake_llm, fault):
    fake_llm.script(*FAULTS[fault])
    game_id, cookie = await database_sync_to_async(game_with_cookie)()
    comm, state = await ready(cookie)

    frames = await play(comm, "Tell me about the cellar", "f1", kind="say", timeout=15)
    end = frames[-1]
    assert end["type"] == "npc.end" and end["source"] == "fallback" and end["text"].strip()
    assert "".join(f["text"] for f in frames if f["type"] == "npc.token") == end["text"]
    assert not any(word in end["text"].lower() for word in TECHNICAL), end["text"]
    after = next(f for f in await drain(comm) if f["type"] == "state")
    assert after["version"] == state["version"] + 1

    requests = fake_llm.chat_count
    again = await play(comm, "Tell me about the cellar", "f1", kind="say")
    assert again[-1]["replayed"] is True and again[-1]["text"] == end["text"]
    assert fake_llm.chat_count == requests, "a replay asks the model nothing"
    game = await Game.objects.aget(pk=game_id)
    assert game.version == state["version"] + 1
    assert await Turn.objects.filter(game_id=game_id, client_id="f1").acount() == 1
    await comm.disconnect()


async def test_player_leaves_mid_reply__nothing_stored_then_resend_applies_once(world, fake_llm):
    # Two sentences: the first is shown (checked whole) while the second still streams.
    fake_llm.script(Reply("A long story, friend. It is about the tavern, its ghosts and its many cellars.", tokens_per_second=10))
    game_id, cookie = await database_sync_to_async(game_with_cookie)()
    comm, state = await ready(cookie)
    await comm.send_json_to({"type": "say", "id": "gone", "npc": "gareth", "text": "Tell me a story"})
    while (await comm.receive_json_from(timeout=5))["type"] != "npc.token":
        pass
    await comm.disconnect()  # the browser closed mid-reply
    await asyncio.sleep(0.2)
    assert not await Turn.objects.filter(game_id=game_id, client_id="gone").aexists()

    fake_llm.script(Reply("Another time, then: the short version."))
    comm, resumed = await ready(cookie)
    frames = await play(comm, "Tell me a story", "gone", kind="say")  # what a client resends on reconnect
    assert frames[-1]["type"] == "npc.end" and "replayed" not in frames[-1]
    await drain(comm)
    game = await Game.objects.aget(pk=game_id)
    assert resumed["version"] == state["version"] and game.version == state["version"] + 1
    assert await Turn.objects.filter(game_id=game_id, client_id="gone").acount() == 1
    await comm.disconnect()


async def test_lone_surrogate_from_the_model__reply_still_sent_and_stored(world, fake_llm):
    """A model can stream half a UTF-16 pair; it must not break the socket or the save."""
    fake_llm.script(Reply(tokens=("Aye", " \ud83c", " friend."), text=""))
    game_id, cookie = await database_sync_to_async(game_with_cookie)()
    comm, _ = await ready(cookie)
    await comm.send_json_to({"type": "say", "id": "s1", "npc": "gareth", "text": "hello"})
    frames = []
    while not frames or frames[-1]["type"] != "npc.end":
        raw = (await comm.receive_output(timeout=5))["text"]
        raw.encode("utf-8")  # what daphne does before sending: must not raise
        frames.append(json.loads(raw))
    assert frames[-1]["text"].startswith("Aye")
    assert await Turn.objects.filter(game_id=game_id, client_id="s1").aexists()
    await comm.disconnect()


@pytest.mark.parametrize("step", ["memory_record_exchange", "reply_observed"])
async def test_step_failing_after_the_turn_committed__player_gets_the_reply_once(world, fake_llm, monkeypatch, step):
    """Remembering the exchange, or counting it in the metrics, fails after the commit: `server_busy`
    promises that nothing was applied, so after the commit it would be a lie, and so would a second
    final frame."""
    from gameplay import play as play_module

    def broken(**kwargs):
        raise RuntimeError(f"{step} fell over")

    monkeypatch.setattr(play_module, step, broken)
    fake_llm.script(Reply("Aye, the stew's good tonight."))
    game_id, cookie = await database_sync_to_async(game_with_cookie)()
    comm, _ = await ready(cookie)
    frames = await play(comm, "What's good tonight?", "m1", kind="say")
    assert frames[-1]["type"] == "npc.end" and frames[-1]["text"] == "Aye, the stew's good tonight."
    frames += await drain(comm)
    finals = [f for f in frames if f.get("reply_to") == "m1" and f["type"] in {"narration", "npc.end", "error"}]
    assert [f["type"] for f in finals] == ["npc.end"]
    assert await Turn.objects.filter(game_id=game_id, client_id="m1").acount() == 1
    await comm.disconnect()


async def test_send_json__a_frame_with_a_lone_surrogate_goes_out_escaped():
    from gameplay.consumers import PlayConsumer

    consumer, sent = PlayConsumer(), []

    async def send(text_data=None, bytes_data=None, close=False):
        sent.append(text_data)

    consumer.send = send
    await consumer.send_json({"type": "narration", "text": "half a pair: \ud83c, then é"})
    sent[0].encode("utf-8")
    assert json.loads(sent[0])["text"] == "half a pair: \ud83c, then é"
