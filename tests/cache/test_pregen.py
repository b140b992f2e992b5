"""Pre-generation: likely replies made in the background at background priority, then served to
players with source "pregen"; the Celery task, the beat entry and the management command."""
import asyncio

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command

from llm.gate import PLAYERS_KEY
from llm.models import ReplyCacheEntry
from llm.reply_cache import reply_cache_purge
from llm.reply_cache.questions import QUESTIONS
from llm.reply_cache.selectors import reply_cache_stats
from npcs.models import Npc
from npcs.pregen import npc_replies_pregenerate
from tests.cache.conftest import ask
from tests.llm.fake_openai import Reply

pytestmark = [pytest.mark.django_db(transaction=True)]


async def test_pregeneration_fills_the_canonical_questions_of_a_context_players_meet(fake_llm, new_player):
    _, alice = await new_player()
    _, bob = await new_player()
    await ask(alice, "Where's the cellar?")  # any cacheable ask tells the cache where players meet Gareth
    asked = fake_llm.chat_count

    report = await asyncio.to_thread(npc_replies_pregenerate, max_replies=100)
    made = len(QUESTIONS) * await _opening_npcs()  # Alice met Gareth in the opening every game starts in
    assert report.made == made and report.failed == 0
    assert await ReplyCacheEntry.objects.filter(source="pregen", npc_slug="gareth").acount() == len(QUESTIONS)
    assert fake_llm.chat_count == asked + made

    frames = await ask(bob, "What drinks are there?")
    assert frames[-1]["type"] == "npc.end" and frames[-1]["source"] == "pregen"
    assert fake_llm.chat_count == asked + made  # no new model call

    again = await asyncio.to_thread(npc_replies_pregenerate, max_replies=100)
    assert again.made == 0  # idempotent: nothing is made twice
    stats = await asyncio.to_thread(reply_cache_stats, days=1)
    assert stats.served == {"llm": 1, "pregen": 1}
    assert stats.pregen_share == 0.5 and stats.pregen_used_share == pytest.approx(1 / made)


async def test_pregeneration__a_reply_to_the_name_question_that_says_no_name_is_not_kept(fake_llm, new_player):
    fake_llm.default = Reply("Moses. I'm a mason, I'll be right back.")
    _, alice = await new_player()
    await ask(alice, "Where's the cellar?")

    report = await asyncio.to_thread(npc_replies_pregenerate, max_replies=100)
    npcs = await _opening_npcs()
    assert report.made == (len(QUESTIONS) - 1) * npcs and report.skipped == npcs
    kept = [q async for q in ReplyCacheEntry.objects.filter(source="pregen").values_list("question", flat=True)]
    assert len(kept) == report.made and "q:name" not in kept


async def _opening_npcs() -> int:
    from gameplay.services import opening_say_plans

    return len(await asyncio.to_thread(opening_say_plans))


async def test_pregeneration_on_a_new_server__the_first_player_is_answered_from_it(fake_llm, new_player):
    """Before anyone has asked anything, the contexts every new game opens in are prepared for."""
    report = await asyncio.to_thread(npc_replies_pregenerate, max_replies=100)
    assert await _opening_npcs() >= 1 and report.made == len(QUESTIONS) * await _opening_npcs()
    asked = fake_llm.chat_count
    _, first = await new_player()
    frames = await ask(first, "Tell me a bit about yourself, friend.")
    assert frames[-1]["type"] == "npc.end" and frames[-1]["source"] == "pregen"
    assert fake_llm.chat_count == asked
    assert (await asyncio.to_thread(npc_replies_pregenerate, max_replies=100)).made == 0


async def test_pregeneration_waits_while_a_player_is_being_answered(fake_llm, new_player):
    _, alice = await new_player()
    await ask(alice, "Hello there!")
    asked = fake_llm.chat_count
    await asyncio.to_thread(cache.set, PLAYERS_KEY, 1, 60)  # a player's request is with the model

    job = asyncio.create_task(asyncio.to_thread(npc_replies_pregenerate, max_replies=2))
    await asyncio.sleep(0.8)
    assert fake_llm.chat_count == asked  # background priority: nothing sent while the player waits
    await asyncio.to_thread(cache.set, PLAYERS_KEY, 0, 60)
    report = await asyncio.wait_for(job, 10)
    assert report.made == 2 and fake_llm.chat_count == asked + 2


async def test_after_a_purge_the_most_asked_replies_are_made_first_and_action_replies_are_not_kept(fake_llm, new_player):
    for _ in range(3):  # three players' first lines
        _, cookie = await new_player()
        await ask(cookie, "Where's the cellar?")
    gareth = await Npc.objects.aget(slug="gareth")
    await asyncio.to_thread(reply_cache_purge, npc_id=gareth.pk)  # as an edit in admin does: what players asked is kept
    fake_llm.script(Reply("Down the hatch in the yard. [[action: relationship +1]]"))
    report = await asyncio.to_thread(npc_replies_pregenerate, max_replies=1)
    assert report.skipped == 1 and report.made == 0  # the most asked line came first; it proposed an action
    assert fake_llm.chat_requests[-1]["messages"][-1]["content"].endswith("Where's the cellar?")


def test_pregenerate_is_a_periodic_celery_task_and_a_command(fake_llm, world, capsys):
    entry = settings.CELERY_BEAT_SCHEDULE["npcs-pregenerate"]
    assert entry["task"] == "npcs.tasks.pregenerate"
    from npcs.tasks import pregenerate

    from gameplay.services import opening_say_plans

    assert pregenerate.apply().get() == len(QUESTIONS) * len(opening_say_plans())  # nothing asked yet: the openings
    call_command("pregenerate", "--max", "5")
    assert "Pre-generated 0 replies" in capsys.readouterr().out  # made already
