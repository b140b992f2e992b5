"""The websocket protocol end to end through the real ASGI application (origin check, session, consumer)."""
import json

import pytest

from tests.websocket import connect, until_final

pytestmark = [pytest.mark.django_db(transaction=True)]


async def test_connect__sends_state_and_history(session_cookie):
    game, cookie = session_cookie
    comm, connected = await connect(cookie)
    assert connected
    state = await comm.receive_json_from()
    assert state["type"] == "state" and state["session"] == str(game.id)
    assert state["location"]["slug"] == "common-room"
    history = await comm.receive_json_from()
    assert history["type"] == "history"
    await comm.disconnect()


async def test_connect__foreign_origin_is_rejected(session_cookie):
    _, cookie = session_cookie
    comm, connected = await connect(cookie, origin="http://evil.example")
    assert not connected


async def test_connect__without_a_game_gets_no_game_and_close(world):
    comm, connected = await connect(None)
    assert connected
    frame = await comm.receive_json_from()
    assert frame["type"] == "error" and frame["code"] == "no_game"
    out = await comm.receive_output()
    assert out["type"] == "websocket.close" and out["code"] == 4001


@pytest.mark.parametrize("frame", [
    {"type": "command", "text": "buy ale"},
    {"type": "say", "npc": "gareth", "text": "An ale, please."},  # an order said to the seller: the rules sell it
])
async def test_buy_ale__narration_then_state__applied_once(session_cookie, frame):
    _, cookie = session_cookie
    comm, _ = await connect(cookie)
    await comm.receive_json_from(); await comm.receive_json_from()
    await comm.send_json_to({**frame, "id": "c1"})
    frames = await until_final(comm, "c1")
    assert [f["type"] for f in frames] == ["narration"] and frames[0]["text"].startswith("You pay 3 gold"), frames
    state = await comm.receive_json_from()
    assert state["type"] == "state" and state["player"]["gold"] == 17
    assert state["inventory"] == [{"slug": "ale", "name": "mug of ale", "qty": 1}]
    await comm.send_json_to({**frame, "id": "c1"})  # sent again: replayed, not applied again
    again = (await until_final(comm, "c1"))[-1]
    assert again["replayed"] and again["text"] == frames[0]["text"]
    await comm.send_json_to({"type": "command", "id": "s1", "text": "status"})
    assert "Gold: 17." in (await until_final(comm, "s1"))[-1]["text"]
    await comm.disconnect()


async def test_say__streams_start_tokens_end(session_cookie):
    _, cookie = session_cookie
    comm, _ = await connect(cookie)
    await comm.receive_json_from(); await comm.receive_json_from()
    await comm.send_json_to({"type": "say", "id": "c2", "npc": "gareth", "text": "Tell me about yourself"})
    frames = await until_final(comm, "c2")
    kinds = [f["type"] for f in frames]
    assert kinds[0] == "npc.start" and kinds[-1] == "npc.end"
    tokens = "".join(f["text"] for f in frames if f["type"] == "npc.token")
    assert tokens == frames[-1]["text"] and frames[-1]["source"] in {"llm", "cache", "pregen", "fallback"}
    await comm.disconnect()


@pytest.mark.parametrize(
    "raw, code",
    [
        ("not json", "bad_frame"),
        ("[1, 2]", "bad_frame"),
        (json.dumps({"type": "dance", "id": "x1"}), "unknown_type"),
        (json.dumps({"type": "command", "id": "x2"}), "missing_field"),
        (json.dumps({"type": "command", "id": "x3", "text": "   "}), "missing_field"),
        (json.dumps({"type": "say", "id": "x4", "text": "hi"}), "missing_field"),
        (json.dumps({"type": "command", "id": "x5", "text": "a" * 600}), "too_long"),
        (json.dumps({"type": "command", "id": "x6", "text": 42}), "bad_frame"),
        (json.dumps({"type": "command", "id": {"a": 1}, "text": "look"}), "bad_frame"),
        ("x" * 20000, "frame_too_large"),
    ],
)
async def test_malformed_frames__error_and_connection_stays_usable(session_cookie, raw, code):
    _, cookie = session_cookie
    comm, _ = await connect(cookie)
    await comm.receive_json_from(); await comm.receive_json_from()
    await comm.send_to(text_data=raw)
    frame = await comm.receive_json_from()
    assert frame["type"] == "error" and frame["code"] == code
    assert frame["text"] and "Traceback" not in frame["text"]
    await comm.send_json_to({"type": "command", "id": "after", "text": "look"})
    frames = await until_final(comm, "after")
    assert frames[-1]["type"] == "narration"
    await comm.disconnect()


async def test_binary_frame__bad_frame(session_cookie):
    _, cookie = session_cookie
    comm, _ = await connect(cookie)
    await comm.receive_json_from(); await comm.receive_json_from()
    await comm.send_to(bytes_data=b"\x00\x01")
    frame = await comm.receive_json_from()
    assert frame["code"] == "bad_frame"
    await comm.disconnect()


async def test_resend_same_id__replayed_not_applied_twice(session_cookie):
    _, cookie = session_cookie
    comm, _ = await connect(cookie)
    await comm.receive_json_from(); await comm.receive_json_from()
    await comm.send_json_to({"type": "command", "id": "dup", "text": "buy ale"})
    first = (await until_final(comm, "dup"))[-1]
    await comm.receive_json_from()  # state
    await comm.send_json_to({"type": "command", "id": "dup", "text": "buy ale"})
    again = (await until_final(comm, "dup"))[-1]
    assert again["replayed"] is True and again["text"] == first["text"]
    await comm.send_json_to({"type": "command", "id": "inv", "text": "inventory"})
    inv = (await until_final(comm, "inv"))[-1]
    assert "17 gold" in inv["text"]
    await comm.disconnect()


async def test_resume__new_connection_finds_the_game_where_it_was(session_cookie):
    _, cookie = session_cookie
    comm, _ = await connect(cookie)
    await comm.receive_json_from(); await comm.receive_json_from()
    await comm.send_json_to({"type": "command", "id": "g1", "text": "go to the kitchen"})
    await until_final(comm, "g1")
    await comm.disconnect()
    comm2, _ = await connect(cookie)
    state = await comm2.receive_json_from()
    assert state["location"]["slug"] == "kitchen"
    history = await comm2.receive_json_from()
    assert history["turns"][-1]["text"] == "go to the kitchen"
    await comm2.disconnect()


async def test_two_tabs__both_see_the_new_state(session_cookie):
    _, cookie = session_cookie
    tab1, _ = await connect(cookie)
    tab2, _ = await connect(cookie)
    for tab in (tab1, tab2):
        await tab.receive_json_from(); await tab.receive_json_from()
    await tab1.send_json_to({"type": "command", "id": "t1", "text": "buy ale"})
    await until_final(tab1, "t1")
    pushed = await tab2.receive_json_from()
    assert pushed["type"] == "state" and pushed["player"]["gold"] == 17
    await tab1.disconnect(); await tab2.disconnect()
