"""What is in a place of the tavern, as the game answers a player asking an NPC
(gameplay/answers_places.py)."""
from __future__ import annotations

import pytest

from gameplay.answers_places import place_asked, place_told, place_words
from tests.gameplay.test_voice import ready, say
from tests.llm.fake_openai import Reply

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("line, slug", [
    ("what's upstairs?", "upstairs"), ("what's in the cellar?", "cellar"), ("what's the yard like?", "yard"),
    ("tell me about the den", "gambling-den"), ("what's it like in the kitchen", "kitchen"),
    ("tell me about the tavern", None),  # its history, not its common room
    ("where's the cellar?", None),  # the way, not what is there
    ("what's in the cellar that's worth stealing?", None),
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
