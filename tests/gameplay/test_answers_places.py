"""What is in a place of the tavern, as the game answers a player asking an NPC
(gameplay/answers_places.py)."""
from __future__ import annotations

import pytest

from channels.db import database_sync_to_async

from gameplay.answers_places import place_asked, place_told, place_words
from gameplay.world import world_current
from tests.gameplay.test_voice import ready, say
from tests.llm.fake_openai import Reply

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("line, slug", [
    ("what's upstairs?", "upstairs"), ("what's in the cellar?", "cellar"), ("what's the yard like?", "yard"),
    ("tell me about the den", "gambling-den"), ("what's it like in the kitchen", "kitchen"),
    ("tell me about the tavern", None),  # its history, not its common room
    ("where's the cellar?", None),  # the way, not what is there
    ("what's in the cellar that's worth stealing?", None),
    ("tell me about the § not the cellar", None),  # the marker the shapes use, typed by the player
])
def test_place_asked(world, line, slug):
    place = place_asked(world, line)
    assert (place.slug if place else None) == slug


def test_place_said__the_worlds_first_two_sentences_and_words_the_line_did_not_bring(world):
    cellar = world.locations["cellar"]
    assert place_told(cellar) == ("Cool and damp under a vaulted brick ceiling low enough to punish the tall. "
                                  "Casks lie in neat ranks on their cradles, and the air tastes of earth, hops and old stone.")
    assert "vaulted" in place_words(cellar, "what's in the cellar?") and "cellar" not in place_words(cellar, "what's in the cellar?")


async def test_say__asked_what_is_upstairs__a_reply_saying_nothing_of_it_is_not_shown(fake_llm, session_cookie):
    _, cookie = session_cookie
    fake_llm.script(Reply("Upstairs, I'm afraid. The common room up in the middle of the street is a little room."),
                    Reply("Rooms, friend, off a creaking landing."))
    comm = await ready(cookie)
    end = (await say(comm, "what's upstairs?", cid="u1"))[-1]
    assert end["source"] == "fallback" and end["text"].startswith("A creaking landing at the top of a crooked stair"), end
    end = (await say(comm, "and what's it like up in the landing?", cid="u2"))[-1]
    assert end["source"] == "llm" and end["text"] == "Rooms, friend, off a creaking landing."
    await comm.disconnect()


@pytest.mark.parametrize("name, said", [("The Upstairs Landing", "on the Upstairs Landing"), ("The Cellar", "in the Cellar"),
                                        ("The Yard", "in the Yard")])
def test_place_in__where_someone_is_inside_a_sentence(name, said):
    from gameplay.rules.lookup import place_in

    assert place_in(name) == said


@pytest.mark.parametrize("npc, line, about, opening", [
    ("tobias", "what happened to your lute strings?", "strings", None),
    ("gareth", "why's it called the LIVING rusted tankard anyway", "rusted tankard", "Why 'Living'?"),  # the line on its word
    ("gareth", "who built this place", "this place", "My grandfather Hennet built her"),
    ("amos", "tell me about brackwater", "brackwater", None),  # one long word of the topic
    ("magda", "can you help me?", None, None),  # one short word: not clear enough
    ("gareth", "what do you think of the guild?", None, None),  # a topic for friends only
])
def test_topic_told__a_question_naming_a_topic_clearly_gets_the_npcs_own_words(world, npc, line, about, opening):
    """The NPC's authored topic lines (gameplay/answers_people.topic_told), as a game answer."""
    from types import SimpleNamespace

    from gameplay.answers_people import topic_told

    told = topic_told(SimpleNamespace(line=line, tier="stranger", seed=7), world.npcs[npc])
    assert (told[0] if told else None) == about
    if told is not None:
        _, said, words = told
        assert said in next(t.lines for t in world.npcs[npc].topics if said in t.lines) and words
        assert opening is None or said.startswith(opening)


async def test_say__a_topic_asked__a_reply_saying_none_of_the_npcs_words_on_it_is_not_shown(fake_llm, session_cookie):
    _, cookie = session_cookie
    fake_llm.script(Reply("Brackwater is a place, friend, and the sky is blue."), Reply("Busy, friend; the river's up again."))
    comm = await ready(cookie)
    end = (await say(comm, "tell me about brackwater", cid="t1"))[-1]
    lines = next(t.lines for t in (await database_sync_to_async(world_current)()).npcs["gareth"].topics if "brackwater" in t.keywords)
    assert end["source"] == "fallback" and end["text"] in lines, end
    end = (await say(comm, "and what's brackwater like these days?", cid="t2"))[-1]  # "river": a word of his own on it
    assert end["source"] == "llm" and end["text"] == "Busy, friend; the river's up again.", end
    await comm.disconnect()
