"""Shared taverns over the real ASGI application and the in-memory channel layer: players in one
location see each other, hear each other's public words and the NPC's reply, choose names, whisper
unheard, wait their turn for an NPC, and are shown out when staff close the tavern."""
from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async

from gameplay.models import NpcWait, Patron, Tavern
from tests.llm.fake_openai import Reply
from tests.security.tavern_leak import BlurtingModel, secret_for
from tests.websocket import connect, drain, game_with_cookie, play, until_final

pytestmark = [pytest.mark.django_db(transaction=True)]
TAVERN = "the-crossroads"


async def enter(tavern: str = TAVERN, cookie: str | None = None):
    """A new player (a new game and session) in the shared tavern: the socket and its state."""
    if cookie is None:
        _, cookie = await sync_to_async(game_with_cookie)("tavern")
    comm, connected = await connect(cookie, tavern=tavern)
    assert connected
    state = await comm.receive_json_from(timeout=5)
    assert state["type"] == "state", state
    assert (await comm.receive_json_from(timeout=5))["type"] == "history"
    return comm, state


async def frames_until(comm, match, timeout: float = 8) -> list[dict]:
    """Frames up to and including the first that `match`es."""
    frames = []
    while True:
        frame = await comm.receive_json_from(timeout=timeout)
        frames.append(frame)
        if match(frame):
            return frames


@pytest.fixture
def speaking_model(fake_llm):
    fake_llm.default = BlurtingModel()  # tells any secret its prompt holds
    return fake_llm


async def test_two_players__hear_each_others_public_words_and_the_reply_but_not_whispers(world, speaking_model, settings):
    settings.TANKARD_REPLY_CACHE = {**settings.TANKARD_REPLY_CACHE, "ENABLED": False}
    ann, _ = await enter()
    bob, state = await enter()
    assert sorted(state["players"]) == sorted(state["players"]) and len(state["players"]) == 2
    you = state["tavern"]["you"]
    assert state["tavern"]["name"] == TAVERN and you in state["players"]
    joined = await ann.receive_json_from(timeout=5)
    assert joined == {"type": "room.join", "name": you}

    own = await play(ann, "Where does the north road go?", "a1", kind="say")
    assert [f["type"] for f in own][0] == "npc.start" and own[-1]["type"] == "npc.end"
    assert all("said" not in f for f in own)  # the speaker's own frames are as in a private tavern
    heard = await frames_until(bob, lambda f: f["type"] == "room.npc.end")
    said = heard[0]
    assert said["type"] == "room.say" and said["text"] == "Where does the north road go?" and said["npc"] == "gareth"
    assert said["name"] != you and said["npc_name"] == "Gareth Rusk"
    assert heard[1] == {"type": "room.npc.start", "said": said["said"], "npc": "gareth", "name": "Gareth Rusk", "to": said["name"]}
    tokens = "".join(f["text"] for f in heard if f["type"] == "room.npc.token")
    assert tokens.strip() == heard[-1]["text"] == own[-1]["text"]
    assert all("reply_to" not in f for f in heard)

    secret, another = secret_for(1), secret_for(2)
    whispered = await play(ann, f"the key is under cask {secret}", "a2", kind="say", private=True)
    assert whispered[-1]["type"] == "npc.end" and secret in whispered[-1]["text"]
    await play(ann, f"whisper gareth and the door code is {another}", "a3")
    await play(ann, "What did I tell you?", "a4", kind="say")  # aloud: a reply the room hears draws on no whisper
    await asyncio.sleep(0.2)
    overheard = await drain(bob)
    assert any(f["type"] == "room.say" and f["text"] == "What did I tell you?" for f in overheard)
    assert not [f for f in overheard if secret in json.dumps(f) or another in json.dumps(f)]
    for comm in (ann, bob):
        await comm.disconnect()


async def test_presence__arrivals_moves_and_departures_are_told_to_those_standing_there(world):
    ann, _ = await enter()
    bob, state = await enter()
    bob_name = state["tavern"]["you"]
    assert (await ann.receive_json_from(timeout=5)) == {"type": "room.join", "name": bob_name}
    moved = await play(bob, "go to the kitchen", "b1")
    assert moved[-1]["type"] == "narration"
    bob_state = await frames_until(bob, lambda f: f["type"] == "state")
    assert bob_state[-1]["players"] == [bob_name] and bob_state[-1]["location"]["slug"] == "kitchen"
    assert (await ann.receive_json_from(timeout=5)) == {"type": "room.leave", "name": bob_name}
    await play(ann, "go to the kitchen", "a1")
    ann_state = (await frames_until(ann, lambda f: f["type"] == "state"))[-1]
    assert len(ann_state["players"]) == 2 and bob_name in ann_state["players"]
    assert (await bob.receive_json_from(timeout=5))["type"] == "room.join"
    await bob.disconnect()
    assert (await ann.receive_json_from(timeout=5)) == {"type": "room.leave", "name": bob_name}
    await ann.disconnect()


async def test_words_to_the_room_gestures_and_who__heard_and_seen_by_those_standing_there_only(world):
    ann, ann_state = await enter()
    bob, state = await enter()
    bob_name = state["tavern"]["you"]
    await ann.receive_json_from(timeout=5)  # bob came in
    who = (await play(ann, "who", "a1"))[-1]["text"]
    assert who.startswith("Here: Gareth Rusk") and f"{bob_name}, a traveller like you." in who
    said = await play(bob, "say Evening, all! Who's for cards?", "b1")
    assert said[-1]["type"] == "narration" and said[-1]["text"].startswith('You say, "Evening, all! Who\'s for cards?"')
    assert await ann.receive_json_from(timeout=5) == {"type": "room.chat", "name": bob_name, "text": "Evening, all! Who's for cards?"}
    waved = await play(bob, "wave to wren", "b2")
    assert waved[-1]["text"].startswith("You wave to Wren.")
    assert await ann.receive_json_from(timeout=5) == {"type": "room.emote", "name": bob_name, "text": f"{bob_name} waves to Wren."}
    ann_name = ann_state["tavern"]["you"]
    waved = await play(bob, f"bow to {ann_name.lower()}", "b2b")  # another player's name, typed in lower case
    assert waved[-1]["text"].startswith(f"You bow to {ann_name}.")
    assert (await frames_until(ann, lambda f: f["type"] == "room.emote"))[-1]["text"] == f"{bob_name} bows to {ann_name}."
    await play(bob, "go to the kitchen", "b3")
    await frames_until(ann, lambda f: f["type"] == "room.leave")
    await play(bob, "say Anyone in here?", "b4")
    await play(bob, "stretch my legs", "b5")
    await asyncio.sleep(0.2)
    assert [f for f in await drain(ann) if f["type"] in ("room.chat", "room.emote")] == []  # another room: nothing heard
    assert bob_name not in (await play(ann, "look", "a2"))[-1]["text"]
    assert (await play(bob, "say", "b6"))[-1]["code"] == "missing_field"
    for comm in (ann, bob):
        await comm.disconnect()


async def test_name__chosen_validated_and_told_to_the_room(world):
    ann, ann_state = await enter()
    bob, _ = await enter()
    await ann.receive_json_from(timeout=5)  # bob came in
    bad = {
        "x": "at least two", "A" * 30: "mouthful", "<script>": "Letters", "Gareth": "works here", "gareth": "works here",
        "you": "not a name", "Zal\u0336\u0336go": "Letters",
    }
    for i, (raw, why) in enumerate(bad.items()):
        answer = (await play(bob, f"name {raw}", f"n{i}"))[-1]
        assert answer["type"] == "error" and answer["code"] == "not_allowed" and why in answer["text"], (raw, answer)
    good = (await play(bob, "name  Bríd  O'Neill-Ash ", "ok"))
    assert good[-1] == {"type": "narration", "reply_to": "ok", "text": "From now on, folk here know you as Bríd O'Neill-Ash."}
    state = (await frames_until(bob, lambda f: f["type"] == "state"))[-1]
    assert state["tavern"]["you"] == "Bríd O'Neill-Ash" and "Bríd O'Neill-Ash" in state["players"]
    told = await ann.receive_json_from(timeout=5)
    assert told["type"] == "room.rename" and told["name"] == "Bríd O'Neill-Ash"
    taken = (await play(ann, "name BRÍD o'neill-ash", "t1"))[-1]
    assert taken["code"] == "not_allowed" and "already answers" in taken["text"]
    asked = (await play(ann, "name", "t2"))[-1]
    assert asked["type"] == "narration" and ann_state["tavern"]["you"] in asked["text"]
    for comm in (ann, bob):
        await comm.disconnect()


async def test_name__in_a_private_tavern_is_a_command_like_any_other(session_cookie):
    _, cookie = session_cookie
    comm, connected = await connect(cookie)
    state = await comm.receive_json_from()
    assert "players" not in state and "tavern" not in state  # GET / and its socket are as they were
    await comm.receive_json_from()
    answer = (await play(comm, "name Ann", "p1"))[-1]
    assert answer["type"] == "error" and answer["code"] == "unknown_command"
    await comm.disconnect()


@pytest.mark.parametrize("name", ["bad name", "x" * 41, "crème", "a/b", ""])
async def test_bad_tavern_name__socket_told_in_world_and_closed(world, name):
    _, cookie = await sync_to_async(game_with_cookie)("tavern")
    comm, connected = await connect(cookie, tavern=name)
    assert connected
    frame = await comm.receive_json_from()
    assert frame["type"] == "error" and frame["code"] == "bad_tavern" and "letters, digits" in frame["text"]
    out = await comm.receive_output()
    assert out["type"] == "websocket.close" and out["code"] == 4002
    assert not await sync_to_async(Tavern.objects.exists)()


async def test_malformed_private_field__bad_frame_and_the_socket_stays_usable(world):
    ann, _ = await enter()
    await ann.send_json_to({"type": "say", "id": "m1", "npc": "gareth", "text": "hi", "private": "yes"})
    frame = await ann.receive_json_from()
    assert frame == {"type": "error", "reply_to": "m1", "code": "bad_frame", "text": frame["text"]} and frame["text"]
    assert (await play(ann, "look", "m2"))[-1]["type"] == "narration"
    await ann.disconnect()


async def test_npc_line__a_second_player_waits_their_turn_and_is_told_so(world, fake_llm):
    fake_llm.default = Reply("Aye, one moment. Let me think on it a while. The road north is long and the rain is cold. "
                             "I will tell you what I know.", tokens_per_second=20)  # sentences: shown as each one ends
    ann, _ = await enter()
    bob, _ = await enter()
    await ann.receive_json_from(timeout=5)
    await ann.send_json_to({"type": "say", "id": "a1", "npc": "gareth", "text": "First question"})
    await frames_until(ann, lambda f: f["type"] == "npc.token")
    await bob.send_json_to({"type": "say", "id": "b1", "npc": "gareth", "text": "Second question"})
    bob_frames = await frames_until(bob, lambda f: f.get("reply_to") == "b1" and f["type"] == "npc.end", timeout=15)
    waiting = next(f for f in bob_frames if f["type"] == "npc.thinking")
    assert "raises a hand over the din" in waiting["text"] and "You're next" in waiting["text"]
    kinds = [(f["type"], f.get("said") or f.get("reply_to")) for f in bob_frames]
    ann_end = next(i for i, f in enumerate(bob_frames) if f["type"] == "room.npc.end")
    bob_start = next(i for i, f in enumerate(bob_frames) if f["type"] == "npc.start")
    assert ann_end < bob_start, kinds  # Gareth finished answering Ann before he turned to Bob
    await frames_until(bob, lambda f: f["type"] == "state")  # sent after the place in the line is given up
    assert not await sync_to_async(NpcWait.objects.exists)()
    for comm in (ann, bob):
        await comm.disconnect()


async def test_npc_line__one_player_holds_one_place_per_npc_across_tabs(world, fake_llm):
    fake_llm.default = Reply("Hmm. " * 20, tokens_per_second=20)
    _, cookie = await sync_to_async(game_with_cookie)("tavern")
    tab1, _ = await enter(cookie=cookie)
    tab2, _ = await enter(cookie=cookie)
    await tab1.send_json_to({"type": "say", "id": "x1", "npc": "gareth", "text": "One"})
    await frames_until(tab1, lambda f: f["type"] == "npc.token")
    busy = (await play(tab2, "Two", "x2", kind="say"))[-1]
    assert busy["type"] == "error" and busy["code"] == "npc_busy"
    await until_final(tab1, "x1", timeout=15)
    for comm in (tab1, tab2):
        await comm.disconnect()


async def test_close__everyone_is_told_and_shown_out_and_nobody_comes_back_in(world, client):
    from gameplay.tavern.services import tavern_close

    ann, _ = await enter()
    bob, _ = await enter()
    tavern = await sync_to_async(Tavern.objects.get)(name=TAVERN)
    assert await sync_to_async(tavern_close)(tavern_id=tavern.id)
    for comm in (ann, bob):
        frames = await frames_until(comm, lambda f: f.get("code") == "tavern_closed")
        assert frames[-2]["type"] == "narration" and "closing" in frames[-2]["text"]
        out = await comm.receive_output()
        assert out["type"] == "websocket.close" and out["code"] == 4002
    comm, _ = await connect((await sync_to_async(game_with_cookie)("late"))[1], tavern=TAVERN)
    assert (await comm.receive_json_from())["code"] == "tavern_closed"
    page = await sync_to_async(client.get)(f"/tavern/{TAVERN}/")
    assert page.status_code == 403 and "door is barred" in page.content.decode()
    assert await sync_to_async(Patron.objects.filter(sockets__gt=0).count)() == 0


async def test_the_npcs_know_who_else_stands_here__the_other_players_by_name(world, fake_llm):
    """Gareth, asked "Who's the fellow who just waved?" with another player beside, had answered
    "I just waved at you, you know.": the moment names the other players standing here, a reply may
    name them, and asked who is here, the game's answer names them too."""
    from tests.llm.fake_openai import system_text

    ann, ann_state = await enter()
    ann_name = ann_state["tavern"]["you"]
    bob, state = await enter()
    bob_name = state["tavern"]["you"]
    await ann.receive_json_from(timeout=5)  # bob came in
    fake_llm.script(Reply(f"That's {bob_name}, friend, a traveller like yourself."), Reply("It's a quiet night, friend."))
    said = await play(ann, "Who's the fellow who just waved?", "a1", kind="say")
    assert said[-1]["source"] == "llm" and said[-1]["text"] == f"That's {bob_name}, friend, a traveller like yourself.", said[-1]
    assert f"{bob_name}, a traveller" in system_text(fake_llm.chat_requests[0]).split("Also here:", 1)[1].split("\n", 1)[0]
    asked = await play(ann, "Who else is here?", "a2", kind="say")
    assert asked[-1]["source"] == "fallback" and f"{bob_name}, a traveller" in asked[-1]["text"], asked[-1]
    fake_llm.script(Reply("He's in the kitchen, love; he's a barkeep."))
    known = await play(ann, f"Do you know {bob_name}?", "a3", kind="say", npc="wren")
    assert known[-1]["source"] == "fallback" and known[-1]["text"].startswith(f"{bob_name}? A traveller"), known[-1]
    treat = await play(bob, f"buy ale for {ann_name.lower()}", "b1")
    assert treat[-1]["type"] == "error" and treat[-1]["text"].startswith(f"{ann_name} keeps their own tab"), treat[-1]
    for comm in (ann, bob):
        await comm.disconnect()
