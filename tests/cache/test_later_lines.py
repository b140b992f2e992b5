"""Lines said later in a conversation, over the websocket: answered from the reply cache when they
stand alone, never when the right reply depends on the conversation, and never with anything one
player told an NPC. The LLM is the scripted fake OpenAI server."""
import pytest

from channels.db import database_sync_to_async

from llm.models import ReplyCacheEntry
from tests.cache.conftest import ask
from tests.llm.fake_openai import Reply

pytestmark = [pytest.mark.django_db(transaction=True)]

ROOM = "Eight gold a night, friend, and the key opens the chest too."


def final(frames: list[dict]) -> dict:
    return frames[-1]


async def test_a_later_line_that_stands_alone__is_answered_from_the_cache_and_nothing_is_kept(fake_llm, new_player):
    _, alice = await new_player()
    _, bob = await new_player()
    fake_llm.script(Reply(ROOM), Reply("Morning to you. Cold one."))
    await ask(alice, "How much does a room cost for the night?")
    await ask(bob, "Morning!")
    entries = await ReplyCacheEntry.objects.acount()
    frames = await ask(bob, "Anyway, what's a room go for?")
    assert final(frames)["source"] == "cache" and final(frames)["text"] == ROOM
    assert fake_llm.chat_count == 2
    assert await ReplyCacheEntry.objects.acount() == entries


async def test_a_later_line_that_depends_on_the_conversation__is_never_answered_from_the_cache(fake_llm, new_player):
    """The same words were kept as another player's first line; said after a price, they mean two nights."""
    _, alice = await new_player()
    _, bob = await new_player()
    fake_llm.script(Reply("Two what, friend?"), Reply(ROOM), Reply("Fifteen for two, since it's you."))
    await ask(alice, "And for two nights?")
    await ask(bob, "How much does a room cost for the night?")
    frames = await ask(bob, "And for two nights?")
    assert final(frames)["source"] == "llm" and final(frames)["text"] == "Fifteen for two, since it's you."


async def test_a_later_line_that_answers_the_npc_or_points_back__is_never_answered_from_the_cache(fake_llm, new_player):
    _, alice = await new_player()
    _, bob = await new_player()
    fake_llm.script(Reply("A goat, you say?"), Reply("The miller's daughter ran off with a tinker and a goat."),
                    Reply("The goat came back, looking smug."))
    await ask(alice, "What happened to the goat?", npc="wren")
    await ask(bob, "Any gossip?", npc="wren")
    frames = await ask(bob, "What happened to the goat?", npc="wren")
    assert final(frames)["source"] == "llm" and final(frames)["text"] == "The goat came back, looking smug."


async def test_what_one_player_told_an_npc__never_reaches_another_player(fake_llm, new_player):
    """Bob's later reply drew on his conversation (here it speaks of his secret): it is never kept, so
    Carol, asking the same thing as a first line, gets a reply of her own."""
    _, bob = await new_player()
    _, carol = await new_player()
    fake_llm.script(Reply("Your secret is safe with me."), Reply("Eight gold, and your secret stays behind this bar."),
                    Reply(ROOM))
    await ask(bob, "Keep it quiet: a moneylender called Orsk is after me.")
    bob_later = await ask(bob, "How much does a room cost for the night?")
    assert final(bob_later)["source"] == "llm" and "secret" in final(bob_later)["text"]
    frames = await ask(carol, "How much does a room cost for the night?")
    assert final(frames)["source"] == "llm" and final(frames)["text"] == ROOM
    texts = [text async for text in ReplyCacheEntry.objects.values_list("text", flat=True)]
    assert not any("secret stays" in text for text in texts)


async def test_a_first_line_holding_private_words__serves_no_one_who_did_not_say_them(fake_llm, new_player):
    _, bob = await new_player()
    _, carol = await new_player()
    fake_llm.script(Reply("Eight gold, and Orsk won't look for you here."), Reply(ROOM))
    await ask(bob, "I'm hiding from Orsk. How much does a room cost for the night?")
    frames = await ask(carol, "How much does a room cost for the night?")
    assert final(frames)["source"] == "llm" and final(frames)["text"] == ROOM


async def test_a_line_asking_back_what_the_player_told__is_never_answered_from_the_cache(fake_llm, new_player):
    """Carol asked Gareth what her dog is called as a first line, and that reply was kept; Bob told him
    his dog's name, and asking it back he hears it, not the reply kept for Carol."""
    from memory.services import memory_record_exchange

    bob_game, bob = await new_player()
    _, carol = await new_player()
    fake_llm.script(Reply("What dog, friend?"), Reply("Biscuit, isn't it?"))
    kept = await ask(carol, "What's my dog called?")
    assert final(kept)["source"] == "llm"
    # Bob told him earlier (recorded as play records it, in the same moment: the same context as Carol's), then spoke of the fire
    await database_sync_to_async(memory_record_exchange)(game_id=bob_game, npc_slug="gareth", game_minute=0,
                                                         player_line="I've got a dog called Biscuit waiting in the yard.",
                                                         npc_reply="Dogs are welcome in the yard.")
    await database_sync_to_async(memory_record_exchange)(game_id=bob_game, npc_slug="gareth", game_minute=0,
                                                         player_line="Nice fire tonight.", npc_reply="It never goes out.")
    frames = await ask(bob, "What's my dog called?")  # the last exchange names no dog: the line stands alone by its words
    assert final(frames)["source"] == "llm" and final(frames)["text"] == "Biscuit, isn't it?"
