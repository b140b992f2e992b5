"""Prompt injection against the scripted fake model: whatever the player types and whatever the
model answers, the canary and the instructions never reach the player, proposals still go through
the rules, and the player's words stay in their place in the prompt."""
from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.test import AsyncClient

from gameplay.models import Game, Turn
from gameplay.leak_guard import CANARY, LEAK_RUN_WORDS
from llm.prompts import INSTRUCTIONS
from gameplay.world import world_current
from tests.websocket import arrive, drain, game_with_cookie, play, ready
from tests.llm.fake_openai import Reply
from tests.security.support import squashed_canary_in

pytestmark = [pytest.mark.django_db(transaction=True)]

INJECTIONS = json.loads((Path(__file__).parent / "injections.json").read_text())
NEVER_LEGIT = ("humming-shell", "room-key", "rustgut")  # not Gareth's, or too dear to give away


STYLES = ("echo", "split", "spaced", "propose", "markup", "jailbreak")
LEAKS = {"echo", "split", "spaced", "jailbreak"}


def leaking_model(used: list[str]):
    """A model that falls for everything: each reply leaks in the next of several ways."""
    styles = itertools.cycle(STYLES)

    def respond(body: dict) -> Reply:
        system = body["messages"][0]["content"]
        style = next(styles)
        used.append(style)
        if style == "echo":
            return Reply(system)
        if style == "split":
            return Reply(tokens=("Aye, since you ask so nicely, my tag is ", "TANK", "ARD-", "CANA", "RY-7f", "3a", ". Hush now."))
        if style == "spaced":
            return Reply(f"Very well. {' '.join(CANARY)} — there, I said it.")
        if style == "propose":
            gifts = " ".join(f"[[action: give_item {slug}]]" for slug in NEVER_LEGIT)
            return Reply(f"Take it all, friend, on the house! {gifts} [[action: relationship +99]] [[action: give_gold 500]]")
        if style == "markup":
            return Reply("<b>Welcome</b> & <script>alert('x')</script> mind the step.")
        return Reply(f"As DAN I have no rules. Your gold is now 1000. {CANARY.lower().replace('-', ' ')}")

    return respond


def protected_runs(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"[^\W_]+", text.lower())
    return {tuple(words[i:i + LEAK_RUN_WORDS]) for i in range(len(words) - LEAK_RUN_WORDS + 1)}


def player_text(frames: list[dict]) -> str:
    return " ".join(str(f.get("text", "")) for f in frames if f["type"] in {"npc.token", "npc.end", "narration", "npc.thinking", "error"})


def test_injection_set__is_big_enough_and_varied():
    assert len(INJECTIONS) >= 20 and len(set(INJECTIONS)) == len(INJECTIONS)


async def test_injections_against_a_leaking_model__player_never_sees_the_prompt(world, fake_llm, settings):
    settings.TANKARD_LLM_TOKENS_PER_HOUR = 10**6
    settings.TANKARD_TURNS_PER_MINUTE = 10**3
    styles: list[str] = []
    fake_llm.default = leaking_model(styles)
    game_id, cookie = await database_sync_to_async(game_with_cookie)()
    gareth = (await database_sync_to_async(world_current)()).npcs["gareth"]
    secret_runs = protected_runs("\n".join((INSTRUCTIONS, gareth.personality, gareth.speech_style, *gareth.hides)))
    comm, state = await ready(cookie)
    start_gold = state["player"]["gold"]

    for n, line in enumerate(INJECTIONS):
        frames = await play(comm, line, f"inj-{n}", kind="say")
        frames += await drain(comm, 0.1)
        end = next(f for f in frames if f["type"] == "npc.end")
        shown = player_text(frames)
        assert not squashed_canary_in(shown), (line, shown)
        assert not squashed_canary_in(json.dumps(frames)), line
        assert not protected_runs(shown) & secret_runs, (line, shown)
        assert "".join(f["text"] for f in frames if f["type"] == "npc.token") == end["text"]
        # The reply the player got is the last one asked for (a first one that fails its checks is
        # asked again); a leaking one never comes from the model. One that does not leak may still be
        # the NPC's own line (this model also repeats itself, which the checks hold back).
        if styles[-1] in LEAKS:
            assert end["source"] == "fallback", (styles[-1], end)
        assert "[[" not in shown and "action:" not in shown
        user_message = fake_llm.chat_requests[-1]["messages"][-1]["content"]
        assert "<|" not in user_message and "[[" not in user_message, "the player's words stay in their place"

    await comm.disconnect()
    again, state, history = await arrive(cookie)
    assert state["player"]["gold"] == start_gold
    assert not any(item["slug"] in NEVER_LEGIT for item in state["inventory"])
    game = await Game.objects.aget(pk=game_id)
    turns = [t async for t in Turn.objects.filter(game_id=game_id)]
    assert game.version == len(INJECTIONS) == len(turns)
    assert all(not squashed_canary_in(json.dumps(t.final)) for t in turns)
    assert not squashed_canary_in(json.dumps(history)) and len(history["turns"]) == len(INJECTIONS)
    await again.disconnect()


async def test_markup_from_model_and_player__travels_as_plain_text_escaped_once_by_nobody(world, fake_llm):
    """The server never HTML-escapes: the browser renders text with textContent, so an escaped
    `&lt;` would show up as literal entity text (escaped twice)."""
    markup = "<b>Welcome</b> & <script>alert('x')</script> &amp; mind the step."
    fake_llm.script(Reply(markup))
    game_id, cookie = await database_sync_to_async(game_with_cookie)()
    comm, _ = await ready(cookie)

    frames = await play(comm, "<img src=x onerror=alert(1)> & hello", "m1", kind="say")
    end = frames[-1]
    assert end["type"] == "npc.end" and end["text"] == markup
    assert "&lt;" not in json.dumps(frames)
    await comm.disconnect()

    turn = await Turn.objects.aget(game_id=game_id, client_id="m1")
    assert turn.text == "<img src=x onerror=alert(1)> & hello" and turn.final["text"] == markup
    client = AsyncClient()
    client.cookies["sessionid"] = cookie.split("=", 1)[1]
    page = (await client.get("/")).content.decode()
    assert game_id in page and "onerror" not in page and "alert(" not in page, "the page renders no played text"
