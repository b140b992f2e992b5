"""The canon veto on the reply path, with the scripted LLM server: a reply contradicting a canon
fact is never shown; it is asked for once more with the fact restated, then replaced by the NPC's
own line; each veto is counted per NPC; a fact saved stops the cached replies it may contradict."""
from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from prometheus_client import REGISTRY

from gameplay.voice import CANON_TEMPERATURE
from llm.models import ReplyCacheEntry
from npcs.models import CanonFact
from tests.cache.conftest import ask, new_player, _fresh_cache_levels  # noqa: F401
from tests.llm.fake_openai import Reply, system_text

pytestmark = pytest.mark.django_db(transaction=True)


def vetoes(npc: str = "gareth") -> float:
    return REGISTRY.get_sample_value("tankard_canon_vetoes_total", {"npc": npc}) or 0.0


def shown(frames: list[dict]) -> str:
    return "".join(f["text"] for f in frames if f["type"] == "npc.token")


async def test_a_contradicting_reply_is_asked_again_with_the_fact_restated(fake_llm, new_player):
    _, cookie = await new_player()
    fake_llm.script(Reply("Aye, my wife Mary kept this bar with me."), Reply("Orlaith. Gone eight winters now, friend."))
    before = vetoes()

    frames = await ask(cookie, "Were you ever married?")

    assert frames[-1]["source"] == "llm" and frames[-1]["text"] == "Orlaith. Gone eight winters now, friend." == shown(frames)
    assert "Mary" not in shown(frames) and fake_llm.chat_count == 2
    first, second = (system_text(r) for r in fake_llm.chat_requests)
    assert "Orlaith" in first, "the fact was in the prompt from the start (its keyword)"
    assert "you never say otherwise: Gareth's late wife was Orlaith" in second and "never say otherwise" not in first
    assert vetoes() == before + 1
    assert {r["temperature"] for r in fake_llm.chat_requests} == {CANON_TEMPERATURE}, "a reply carrying canon is sampled cooler"


async def test_two_contradicting_replies_give_the_npcs_own_line(fake_llm, new_player):
    _, cookie = await new_player()
    fake_llm.script(Reply("My wife Mary, bless her."), Reply("Aye, Mary was my wife."))
    before = vetoes()

    frames = await ask(cookie, "Tell me about your wife.")

    end = frames[-1]
    assert end["source"] == "fallback" and end["text"] == shown(frames) and "Mary" not in end["text"]
    assert vetoes() == before + 2 and fake_llm.chat_count == 2


async def test_a_contradicting_later_sentence_is_cut_and_never_shown(fake_llm, new_player):
    _, cookie = await new_player()
    fake_llm.script(Reply("The cellar's down the stairs behind the bar. The cellar door is open for the draymen."))

    frames = await ask(cookie, "Where's the cellar door?")

    assert frames[-1]["text"] == "The cellar's down the stairs behind the bar." == shown(frames)


async def test_the_veto_holds_for_a_fact_not_picked_for_the_line(fake_llm, new_player):
    """Every fact the NPC keeps to is checked, not only those the line's words brought in."""
    _, cookie = await new_player()
    fake_llm.script(Reply("Magda is cooking eel tonight, friend."), Reply("Evening, friend. Sit by the fire."))

    frames = await ask(cookie, "Evening!")

    assert frames[-1]["text"] == "Evening, friend. Sit by the fire."
    assert "Magda never cooks eel" in system_text(fake_llm.chat_requests[1])


async def test_a_fact_saved_anywhere__stops_the_npcs_cached_replies_at_once(fake_llm, new_player):
    """Even saved without the eviction (the shell, a migration): the canon an NPC keeps to is part of
    its persona digest in the reply cache's key, and every process reloads the world on a save."""
    _, alice = await new_player()
    _, bob = await new_player()
    fake_llm.script(Reply("Gareth Rusk. Keeper of the Tankard, and the best ale-taster in Brackwater."))
    await ask(alice, "Tell me about yourself")
    assert await ReplyCacheEntry.objects.acount() == 1

    @database_sync_to_async
    def pin_quietly():
        from gameplay.world import world_changed

        CanonFact.objects.create(key="taster", text="Amos is the best ale-taster in Brackwater.", keywords="zzz",
                                 never="Gareth is the best ale-taster")
        world_changed()

    await pin_quietly()
    fake_llm.script(Reply("Gareth Rusk, keeper of the Tankard."))
    frames = await ask(bob, "Who are you?")

    assert frames[-1]["source"] == "llm" and frames[-1]["text"] == "Gareth Rusk, keeper of the Tankard."
    assert fake_llm.chat_count == 2


MEANING_ONLY = "Has the rusted cup over the bar been found yet?"  # no keyword of "tankard-missing"; near it in meaning


async def test_a_fact_picked_by_meaning_is_in_the_prompt_the_model_gets(fake_llm, new_player):
    """Picked once the reply cache has no answer (a cached reply needs no prompt), and still there."""
    _, cookie = await new_player()
    fake_llm.script(Reply("Not a sign of it, friend. Three nights now."))

    frames = await ask(cookie, MEANING_ONLY)

    assert frames[-1]["source"] == "llm"
    assert "The rusted tankard vanished from its hook" in system_text(fake_llm.chat_requests[0])


async def test_a_cached_reply_picks_no_fact_by_meaning(fake_llm, new_player, monkeypatch):
    """The meaning match takes an embedding of the line: not on the way to a reply from the cache."""
    import gameplay.canon

    _, alice = await new_player()
    _, bob = await new_player()
    fake_llm.script(Reply("Not a sign of it, friend. Three nights now."))
    await ask(alice, MEANING_ONLY)
    meant = []
    real = gameplay.canon.canon_meaning
    monkeypatch.setattr(gameplay.canon, "canon_meaning", lambda line, texts: meant.append(line) or real(line, texts))

    frames = await ask(bob, MEANING_ONLY)

    assert frames[-1]["source"] == "cache" and fake_llm.chat_count == 1
    assert meant == []


async def test_blue_chalk_is_the_dealers__a_reply_giving_it_to_another_is_asked_again(fake_llm, new_player):
    """A reply heard in play: Wren, asked "Who uses blue chalk around here?", named Gareth, who chalks in
    white (the mystery's first clue says blue is the dealer's): the fact is pinned, and the veto holds."""
    _, cookie = await new_player()
    fake_llm.script(Reply("Gareth Rusk uses blue chalk, love, for his tallies."), Reply("Vesna, love. Blue on her fingertips."))

    frames = await ask(cookie, "Who uses blue chalk around here?", npc="wren")

    assert frames[-1]["source"] == "llm" and shown(frames) == "Vesna, love. Blue on her fingertips.", frames[-1]
    assert "Vesna Holt rubs it on her fingertips" in " ".join(m["content"] for m in fake_llm.chat_requests[0]["messages"])
