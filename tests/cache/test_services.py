"""The reply cache over the websocket, end to end: hits across players, near-misses and other
contexts that must miss, flags, NPC edits, single flight, the levels, and what is never kept.
The LLM is the scripted fake OpenAI server; `fake_llm.chat_count` says how many replies it made."""
import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache

from gameplay.world import world_changed
from llm import metrics
from llm.models import ReplyCacheEntry, ReplyFlag, ReplyServe
from llm.reply_cache import memory_clear
from npcs.models import Npc, NpcState
from tests.cache.conftest import ask, send_frame
from tests.llm.fake_openai import Fail, Reply, system_text
from tests.websocket import connect, until_final

pytestmark = [pytest.mark.django_db(transaction=True)]

ABOUT = "Gareth Rusk, keeper of the Rusted Tankard these twenty years."


def final(frames: list[dict]) -> dict:
    return frames[-1]


def tokens(frames: list[dict]) -> str:
    return "".join(f["text"] for f in frames if f["type"] == "npc.token")


async def ask_new(new_player, line: str, **kwargs) -> list[dict]:
    """A new player's first line. Later lines of a conversation carry it in the prompt (recent
    turns), and those replies are never taken from nor kept in the cache."""
    _, cookie = await new_player()
    return await ask(cookie, line, **kwargs)


async def test_second_player_asking_in_other_words__is_served_from_the_cache(fake_llm, new_player):
    _, alice = await new_player()
    _, bob = await new_player()
    fake_llm.script(Reply(ABOUT))
    first = await ask(alice, "Tell me about yourself")
    assert final(first)["source"] == "llm" and fake_llm.chat_count == 1

    second = await ask(bob, "Who are you, really?")
    end = final(second)
    assert end["type"] == "npc.end" and end["source"] == "cache"
    assert end["text"] == ABOUT and tokens(second) == ABOUT  # streamed as npc.token pieces
    assert [f["type"] for f in second][:2] == ["npc.start", "npc.token"]
    assert fake_llm.chat_count == 1


async def test_canonical_question_is_what_the_model_is_asked_for_a_paraphrase(fake_llm, new_player):
    """So the kept reply fits every phrasing of the question, not just the first asker's."""
    await ask_new(new_player, "Who are you, scoundrel?")  # an unknown word: a question of its own
    await ask_new(new_player, "Who are you, really?")
    lines = [r["messages"][-1]["content"] for r in fake_llm.chat_requests]
    assert lines[0].endswith("Who are you, scoundrel?")
    assert lines[1].endswith("Tell me about yourself")


async def test_near_miss__what_to_eat_after_what_to_drink_never_hits(fake_llm, new_player):
    _, alice = await new_player()
    _, bob = await new_player()
    fake_llm.script(Reply("Ale, cider, red wine, and rustgut if you're brave."), Reply("Mutton stew and meat pie."))
    await ask(alice, "What do you have to drink?")
    frames = await ask(bob, "What do you have to eat?")
    assert final(frames)["source"] == "llm" and final(frames)["text"] == "Mutton stew and meat pie."
    for line in ("What was in the stew yesterday?", "Do you serve cider?", "Where can I get a drink?", "Do you drink?"):
        assert final(await ask_new(new_player, line))["source"] == "llm", line
    assert fake_llm.chat_count == 6


@pytest.mark.parametrize("change", ["mood", "tier"])
async def test_other_mood_or_tier__misses(fake_llm, new_player, change):
    _, alice = await new_player()
    bob_game, bob = await new_player()
    await ask(alice, "What is your name?")
    fields = {"mood": "gloomy"} if change == "mood" else {"relationship": 40}  # 40: a friend
    state = await NpcState.objects.aget(game_id=bob_game, npc__slug="gareth")
    for name, value in fields.items():
        setattr(state, name, value)
    await state.asave()  # as the admin saves it (turns change NPC states together with the game's version)
    assert final(await ask(bob, "What's your name?"))["source"] == "llm"
    assert fake_llm.chat_count == 2


async def test_other_part_of_the_day__misses(fake_llm, new_player):
    _, alice = await new_player()
    bob_game, bob = await new_player()
    await ask(alice, "How are you?")
    await send_frame(bob, {"type": "command", "id": "w1", "text": "wait 6"})  # morning -> afternoon
    frames = await ask(bob, "How are you?")
    assert final(frames)["source"] == "llm"
    assert fake_llm.chat_count == 2


async def test_flag__evicts_the_entry_from_every_level_and_counts(fake_llm, new_player):
    game, alice = await new_player()
    bob_game, bob = await new_player()
    fake_llm.script(Reply("A barkeep's life is nonsense about turnips."), Reply(ABOUT))
    await ask(alice, "Tell me about yourself", cid="a1")
    served = await ask(bob, "Tell me a bit about you.", cid="b1")  # not "Who are you?": a reply to it must say the name
    assert final(served)["source"] == "cache"
    flagged_before = metrics.REPLIES_FLAGGED.labels(npc="gareth")._value.get()

    flag = await send_frame(bob, {"type": "flag", "id": "f1", "target": "b1"})
    assert [f["type"] for f in flag] == ["narration"] and flag[-1]["reply_to"] == "f1" and "Gareth" in flag[-1]["text"]
    assert await ReplyFlag.objects.filter(game_id=bob_game, target="b1", evicted=True).acount() == 1
    assert await ReplyCacheEntry.objects.acount() == 0
    assert metrics.REPLIES_FLAGGED.labels(npc="gareth")._value.get() == flagged_before + 1

    again = await send_frame(bob, {"type": "flag", "id": "f2", "target": "b1"})  # counted once
    assert again[-1]["type"] == "narration"
    assert await ReplyFlag.objects.acount() == 1

    fresh = await ask_new(new_player, "Tell me about yourself")
    assert final(fresh)["source"] == "llm" and final(fresh)["text"] == ABOUT
    assert fake_llm.chat_count == 2


async def test_flag__of_a_fresh_model_reply_evicts_what_was_kept_from_it(fake_llm, new_player):
    _, alice = await new_player()
    _, bob = await new_player()
    await ask(alice, "What is your name?", cid="n1")
    await send_frame(alice, {"type": "flag", "id": "f1", "target": "n1"})
    assert final(await ask(bob, "What's your name?"))["source"] == "llm"


async def test_flag__sent_the_moment_the_reply_ends__finds_the_reply(fake_llm, new_player):
    """The serve is recorded after npc.end is sent; a flag on the same socket at once still finds it."""
    _, alice = await new_player()
    _, bob = await new_player()
    fake_llm.script(Reply("A barkeep's life is nonsense about turnips."))
    await ask(alice, "Tell me about yourself")
    comm, connected = await connect(bob)
    assert connected
    await comm.receive_json_from()  # state
    await comm.receive_json_from()  # history
    await comm.send_json_to({"type": "say", "id": "b1", "npc": "gareth", "text": "Tell me a bit about you."})
    while (frame := await comm.receive_json_from(timeout=8))["type"] != "npc.end":
        pass
    await comm.send_json_to({"type": "flag", "id": "f1", "target": "b1"})
    flag = await until_final(comm, "f1", timeout=8)
    await comm.disconnect()

    assert frame["source"] == "cache"
    assert flag[-1]["type"] == "narration" and "Gareth" in flag[-1]["text"]
    assert await ReplyFlag.objects.filter(target="b1", evicted=True).acount() == 1
    assert await ReplyCacheEntry.objects.acount() == 0


async def test_flag__without_target_is_missing_field(fake_llm, new_player):
    _, alice = await new_player()
    frames = await send_frame(alice, {"type": "flag", "id": "f1"})
    assert frames[-1]["type"] == "error" and frames[-1]["code"] == "missing_field"


async def test_npc_edit_in_admin__invalidates_its_replies(fake_llm, new_player, client):
    _, alice = await new_player()
    _, bob = await new_player()
    await ask(alice, "Tell me about yourself")
    assert await ReplyCacheEntry.objects.acount() == 1

    await database_sync_to_async(_edit_in_admin)(client, "gareth", personality="Gruff now, and sad.")
    assert await ReplyCacheEntry.objects.acount() == 0
    frames = await ask(bob, "Who are you?")
    assert final(frames)["source"] == "llm"
    assert "Gruff now" in fake_llm.chat_requests[-1]["messages"][0]["content"]


async def test_persona_changed_outside_admin__misses_too(fake_llm, new_player):
    """A content reload or the shell does not bump persona_version; the persona's own hash is keyed."""
    _, alice = await new_player()
    _, bob = await new_player()
    await ask(alice, "Tell me about yourself")
    await Npc.objects.filter(slug="gareth").aupdate(personality="Cheerful to a fault.")
    await database_sync_to_async(world_changed)()
    assert final(await ask(bob, "Who are you?"))["source"] == "llm"


def _edit_in_admin(client, slug: str, **changes) -> None:
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("editor", "editor@example.com", "pw")
    client.force_login(admin)
    npc = Npc.objects.get(slug=slug)
    data = {f: getattr(npc, f) for f in ("slug", "name", "role", "appearance", "personality", "speech_style", "initial_mood")}
    import json

    data.update({f: json.dumps(getattr(npc, f)) for f in ("knows", "hides", "greetings", "idle_lines", "busy_lines", "cutoff_lines")})
    data.update(is_active="on", **changes)
    for prefix in ("topics", "schedule"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"})
    response = client.post(f"/admin/npcs/npc/{npc.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]


async def test_identical_asks_in_flight__share_one_model_call(fake_llm, new_player):
    _, alice = await new_player()
    _, bob = await new_player()
    fake_llm.script(Reply("Business is slow but steady, friend, slow but steady.", tokens_per_second=20))
    first, second = await asyncio.gather(ask(alice, "How are you?"), ask(bob, "How are you?"))
    sources = sorted([final(first)["source"], final(second)["source"]])
    assert sources == ["cache", "llm"]
    assert final(first)["text"] == final(second)["text"]
    assert fake_llm.chat_count == 1
    follower = first if final(first)["source"] == "cache" else second
    assert follower[1]["type"] == "npc.thinking"  # shown while the other player's reply is written


def _hits(level: str) -> float:
    return metrics.CACHE_HITS.labels(level=level)._value.get()


async def test_levels__a_hit_below_is_promoted_above(fake_llm, new_player):
    _, alice = await new_player()
    _, bob = await new_player()
    await ask(alice, "What is your name?")
    before = {level: _hits(level) for level in ("memory", "redis", "db")}

    memory_clear()  # this process's LRU forgets: the shared cache answers
    assert final(await ask(bob, "What's your name?"))["source"] == "cache"
    memory_clear()
    await database_sync_to_async(cache.clear)()  # a restart: only the database remembers
    assert final(await ask_new(new_player, "What are you called?"))["source"] == "cache"
    assert final(await ask_new(new_player, "Do you have a name?"))["source"] == "cache"  # promoted to memory

    assert _hits("redis") == before["redis"] + 1
    assert _hits("db") == before["db"] + 1
    assert _hits("memory") == before["memory"] + 1
    assert fake_llm.chat_count == 1


async def test_replies_that_propose_actions_or_fall_back__are_not_kept(fake_llm, new_player):
    _, alice = await new_player()
    _, bob = await new_player()
    fake_llm.script(Reply("Good to see you. [[action: relationship +1]]"))
    await ask(alice, "Hello there!")
    fake_llm.script(Fail(500), Fail(500))  # the first try and its one retry
    assert final(await ask_new(new_player, "How is business tonight?"))["source"] == "fallback"  # a stock line
    assert await ReplyCacheEntry.objects.acount() == 0
    assert final(await ask(bob, "Hello."))["source"] == "llm"


async def test_replies_that_drew_on_memories__are_not_kept_nor_served(fake_llm, new_player):
    _, alice = await new_player()
    _, bob = await new_player()
    await ask(alice, "Tell me about yourself")
    await ask(bob, "My name is Bob and my sister Mira is lost.")  # Gareth now remembers Bob
    entries = await ReplyCacheEntry.objects.acount()
    calls = fake_llm.chat_count
    fake_llm.script(Reply("I'm the barkeep, Bob, and I keep an ear out for your sister."))  # not his first reply again
    frames = await ask(bob, "Tell me about yourself")
    assert final(frames)["source"] == "llm"  # not served: this player's reply draws on their memories
    assert await ReplyCacheEntry.objects.acount() == entries  # and not kept for others
    assert fake_llm.chat_count == calls + 1
    system = system_text(fake_llm.chat_requests[-1])
    assert "Bob" in system and "Mira" in system


async def test_a_line_later_in_a_conversation__is_served_when_it_stands_alone_and_never_kept(fake_llm, new_player):
    """The conversation so far is in that prompt: a reply made for it belongs to that conversation and
    is never kept; but a later line that stands alone may be answered with a reply kept before."""
    _, alice = await new_player()
    _, bob = await new_player()
    await ask(alice, "What is your name?")
    await ask(bob, "Hello there!")
    entries = await ReplyCacheEntry.objects.acount()
    assert final(await ask(bob, "What's your name?"))["source"] == "cache"
    fake_llm.script(Reply("My father kept the bar before me, friend."))  # not his first reply again
    assert final(await ask(bob, "Who was here before you?"))["source"] == "llm"
    assert await ReplyCacheEntry.objects.acount() == entries


async def test_every_reply_on_the_path_is_recorded_with_its_source(fake_llm, new_player):
    _, alice = await new_player()
    _, bob = await new_player()
    await ask(alice, "What is your name?")
    await ask(bob, "What's your name?")
    sources = sorted([s async for s in ReplyServe.objects.values_list("source", flat=True)])
    assert sources == ["cache", "llm"]
    entry = await ReplyCacheEntry.objects.aget()
    assert entry.served == 1


async def test_a_new_phrasing_is_embedded_while_its_prompt_is_built(fake_llm, new_player, monkeypatch):
    """The embedding that decides a new phrasing begins before the reply's prompt is built, beside
    it, not after it: the building here waits for it (5 s at most), and finds it."""
    from gameplay import voice
    from llm import embeddings

    line = "Could you say who you are?"
    real, found_while_building = voice.prompt_inspect, []

    def build_waiting_for_the_embedding(plan, npc, **kwargs):
        if plan.line == line:
            deadline = time.monotonic() + 5
            while embeddings.embedded_already([line])[0] is None and time.monotonic() < deadline:
                time.sleep(0.005)
            found_while_building.append(embeddings.embedded_already([line])[0] is not None)
        return real(plan, npc, **kwargs)

    monkeypatch.setattr(voice, "prompt_inspect", build_waiting_for_the_embedding)
    fake_llm.script(Reply(ABOUT))
    await ask_new(new_player, "Tell me about yourself")
    embeddings.clear_cache()

    frames = await ask_new(new_player, line)

    assert final(frames)["source"] == "cache" and final(frames)["text"] == ABOUT
    assert found_while_building == [True]


async def test_a_line_later_in_a_conversation__begins_its_match_too(fake_llm, new_player, monkeypatch):
    """A later line may be answered from the cache when it stands alone (`followup.py`): its
    embedding is begun while its prompt is built, as a first line's is."""
    from llm.reply_cache import services as reply_cache_services

    begun = []
    monkeypatch.setattr(reply_cache_services, "question_match_begin", lambda line, **kwargs: begun.append(line))
    _, cookie = await new_player()
    fake_llm.script(Reply(ABOUT), Reply("The stew is mutton."))
    await ask(cookie, "Tell me about yourself")
    await ask(cookie, "Could you say who you are?")

    assert begun == ["Tell me about yourself", "Could you say who you are?"]


async def test_whisper__never_matched_looked_up_kept_or_counted(fake_llm, new_player):
    """A whisper's words and reply stay out of the cache that serves every player (docs/protocol.md)."""
    from llm.models import ReplyDemand
    from llm.reply_cache.matcher import _matches

    _, alice = await new_player()
    fake_llm.script(Reply("Our secret, from Gareth: the cellar door sticks."))
    whispered = await send_frame(alice, {"type": "say", "id": "w1", "npc": "gareth", "text": "Tell me about yourself",
                                         "private": True})
    assert final(whispered)["source"] == "llm"
    assert not await ReplyCacheEntry.objects.aexists() and not await ReplyDemand.objects.aexists()
    assert len(_matches) == 0  # not even which question the words ask was decided
    fake_llm.script(Reply(ABOUT))
    asked = await ask_new(new_player, "Tell me about yourself")  # another player's same words, aloud
    assert final(asked)["source"] == "llm" and final(asked)["text"] == ABOUT
    fake_llm.script(Reply("Between us, friend: I am Gareth."))
    again = await ask_new(new_player, "Tell me about yourself", cid="w2")
    assert final(again)["source"] == "cache"  # the aloud reply is shared ...
    _, carol = await new_player()
    quiet = await send_frame(carol, {"type": "say", "id": "w3", "npc": "gareth", "text": "Tell me about yourself",
                                     "private": True})
    assert final(quiet)["source"] == "llm" and final(quiet)["text"] == "Between us, friend: I am Gareth."  # ... a whisper is not served it
