"""Property-based fuzzing of what players send: the command parser, the rules through the
services, frame parsing, and random frames through the real consumer. Whatever comes in: no
unhandled exception, no traceback text, a valid saved game, and every frame answered by exactly
one final frame (by its id when it has one)."""
from __future__ import annotations

import itertools
import json

import pytest
from asgiref.sync import async_to_sync
from hypothesis import given
from hypothesis import strategies as st

from gameplay import services
from gameplay.models import Game
from gameplay.protocol import CLIENT_TYPES, IN_WORLD, MAX_ID_CHARS, ClientFrame, FrameError, clean_line, frame_parse
from gameplay.rules.engine import HANDLERS
from gameplay.rules.parser import MAX_COUNT, intent_parse
from gameplay.rules.state import state_from_saved
from tests.websocket import FINAL_TYPES, game_with_cookie, ready
from tests.security.support import fuzz

WORDS = ["buy", "ale", "a", "the", "go", "to", "cellar", "kitchen", "give", "gareth", "wren", "for", "drink",
         "eat", "stew", "rent", "room", "sleep", "wait", "until", "dusk", "bet", "5", "dice", "heads", "flip",
         "accept", "abandon", "bounty", "rats", "store", "retrieve", "chest", "from", "in", "examine", "board",
         "look", "inventory", "work", "report", "accuse", "talk", "say", "hello", "@gareth", "gareth:", "ask",
         "about", "-1", "0", "99999999999999999999", "twenty", "all", "'", "\u202e", "<b>", "[[action:", "]]", "\x00"]
player_lines = st.one_of(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(" ".join),
    st.text(max_size=120),
)
CODES = set(IN_WORLD) | {"unknown_command", "not_allowed", "unknown_npc", "npc_absent"}
_ids = itertools.count()


# --- the parser and the rules -----------------------------------------------------------------------
@fuzz
@given(line=player_lines)
def test_intent_parse__any_line_gives_a_known_verb_and_sane_numbers(line):
    intent = intent_parse(line)

    assert intent.verb in HANDLERS or intent.verb == "unknown"
    assert 1 <= intent.qty <= MAX_COUNT  # the rules refuse past 20 of a thing at once, in words
    assert intent.amount is None or intent.amount >= 0


@pytest.mark.django_db
@fuzz
@given(lines=st.lists(player_lines, min_size=1, max_size=4))
def test_commands_through_the_services__answered_in_the_world_and_saved_valid(game, lines):
    for line in lines:
        text = clean_line(line)[:500]
        if not text:
            continue
        result = services.turn_command(game_id=str(game.id), client_id=f"z{next(_ids)}", text=text)
        if result.say is not None:
            result = services.say_commit(plan=result.say, reply="Aye.", source="fallback")
        elif getattr(result, "narrate", None) is not None:
            result = services.narration_commit(plan=result.narrate, text=None)
        final = result.final
        assert final["type"] in {"narration", "npc.end", "error"}, final
        assert final["type"] != "error" or final["code"] in CODES, final
        assert "Traceback" not in json.dumps(final)
    saved = Game.objects.get(pk=game.id)
    assert state_from_saved(saved.state, saved.checksum) is not None
    assert saved.state["gold"] >= 0 and all(qty > 0 for qty in saved.state["inventory"].values())


# --- frames ------------------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
frame_dicts = st.fixed_dictionaries(
    {},
    optional={"type": st.sampled_from(["command", "say", "flag", "Command", "", "state"]) | json_values,
              "target": st.text(max_size=70) | st.sampled_from(["fz1", "fz2"]) | json_values,
              "id": st.text(max_size=70) | st.integers() | json_values,
              "text": player_lines | json_values, "npc": st.sampled_from(["gareth", "wren", "nobody", ""]) | json_values,
              "session": st.text(max_size=40), "game_id": st.uuids().map(str)},
)
raw_frames = st.one_of(frame_dicts.map(json.dumps), st.text(max_size=200), json_values.map(json.dumps))


@fuzz
@given(raw=raw_frames)
def test_frame_parse__a_valid_frame_or_an_in_world_error(raw):
    parsed = frame_parse(raw, None)

    if isinstance(parsed, FrameError):
        frame = parsed.frame()
        assert frame["code"] in IN_WORLD and frame["text"]
        return
    assert isinstance(parsed, ClientFrame) and parsed.type in CLIENT_TYPES
    assert parsed.id is None or (len(parsed.id) <= MAX_ID_CHARS and parsed.id.isprintable())
    if parsed.type == "flag":
        assert parsed.target and len(parsed.target) <= MAX_ID_CHARS and parsed.target.isprintable()
        return
    assert parsed.text and parsed.text == clean_line(parsed.text) and len(parsed.text) <= 500
    parsed.text.encode("utf-8")


# --- random frames through the real consumer --------------------------------------------------------
def _is_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


bad_ids = st.booleans() | st.floats() | st.text(min_size=MAX_ID_CHARS + 1, max_size=80) | st.just("tab\there") | st.just("")


@st.composite
def client_frames(draw) -> tuple[str, str | None]:
    """A raw frame and the reply_to its one final frame must carry: a fresh id when the frame is an
    object with a valid id, else None (garbage, a non-object, an invalid id: all `error` frames)."""
    kind = draw(st.sampled_from(["object", "object", "object", "bad_id", "garbage", "non_object"]))
    if kind == "garbage":
        return draw(st.text(max_size=100).filter(lambda t: not _is_object(t))), None
    if kind == "non_object":
        return json.dumps(draw(json_values.filter(lambda v: not isinstance(v, dict)))), None
    data = draw(frame_dicts)
    if kind == "bad_id":
        data["id"] = draw(bad_ids)
        return json.dumps(data), None
    data["id"] = f"fz{next(_ids)}"
    return json.dumps(data), data["id"]


def is_final(frame: dict) -> bool:
    """Final frames; a narration without reply_to is an unprompted extra (every object here has an id)."""
    return frame["type"] in {"npc.end", "error"} or (frame["type"] == "narration" and frame["reply_to"] is not None)


async def _aplay_batch(cookie: str, batch: list[tuple[str, str | None]]) -> None:
    comm, _ = await ready(cookie)
    known = FINAL_TYPES | {"state", "npc.start", "npc.token", "npc.thinking"}
    for raw, _ in batch:
        await comm.send_input({"type": "websocket.receive", "text": raw})
    finals: list[dict] = []
    while len(finals) < len(batch):
        frame = await comm.receive_json_from(timeout=10)
        assert frame["type"] in known and "Traceback" not in json.dumps(frame), frame
        if is_final(frame):
            finals.append(frame)
    assert sorted(f["reply_to"] or "" for f in finals) == sorted(r or "" for _, r in batch), (batch, finals)
    assert all(f["type"] != "error" or f["code"] in CODES for f in finals), finals
    while not await comm.receive_nothing(0.02):  # the state frames that follow the finals
        assert not is_final(await comm.receive_json_from()), "one final frame per client frame"
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
def test_random_frames_through_the_consumer__exactly_one_final_each(world, fake_llm, settings):
    settings.TANKARD_TURNS_PER_MINUTE = 10**6
    settings.TANKARD_LLM_TOKENS_PER_HOUR = 10**9
    settings.TANKARD_REPLY_CACHE = {**settings.TANKARD_REPLY_CACHE, "ENABLED": False}
    game_id, cookie = game_with_cookie()

    @fuzz
    @given(batch=st.lists(client_frames(), min_size=1, max_size=5))
    def answered(batch):
        async_to_sync(_aplay_batch)(cookie, batch)

    answered()
    saved = Game.objects.get(pk=game_id)
    assert state_from_saved(saved.state, saved.checksum) is not None
