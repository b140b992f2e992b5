"""The embedded mode's background embedding of new memories: it runs after the replies, and waits
while a player's line is being answered, for a bounded time."""
import asyncio
import uuid

import pytest
from channels.db import database_sync_to_async

from gameplay import background
from llm import embeddings
from memory.models import MemoryRecord
from memory.services import memory_record_exchange

pytestmark = [pytest.mark.django_db(transaction=True)]


async def _pending_exchange() -> str:
    game_id = str(uuid.uuid4())
    embeddings.clear_cache()
    waits = await database_sync_to_async(memory_record_exchange)(
        game_id=game_id, npc_slug="gareth", player_line="Where might I find the cellar, friend?",
        npc_reply="Down the stairs behind the bar; mind the third step.", game_minute=480)
    assert waits
    return game_id


async def _pending(game_id: str) -> int:
    return await MemoryRecord.objects.filter(game_id=game_id, embedding_pending=True).acount()


async def test_embed_soon__waits_while_a_line_is_answered_then_embeds(monkeypatch):
    monkeypatch.setattr(background, "EMBED_AFTER_SECONDS", 0.01)
    game_id = await _pending_exchange()
    with background.answering():
        background.embed_soon(game_id=game_id, npc_slug="gareth")
        await asyncio.sleep(0.3)
        assert await _pending(game_id) == 2  # nothing embedded beside a reply
    await asyncio.wait_for(background.aembedding_settled(), 10)
    assert await _pending(game_id) == 0


async def test_embed_soon__waits_no_longer_than_its_bound(monkeypatch):
    """Players who never pause (a busy process) do not keep memories unembedded for good."""
    monkeypatch.setattr(background, "EMBED_AFTER_SECONDS", 0.01)
    monkeypatch.setattr(background, "EMBED_YIELD_SECONDS", 0.2)
    game_id = await _pending_exchange()
    with background.answering():
        background.embed_soon(game_id=game_id, npc_slug="gareth")
        await asyncio.wait_for(background.aembedding_settled(), 10)
        assert await _pending(game_id) == 0


def test_warm_up__leaves_what_was_loaded_out_of_full_collections(monkeypatch):
    """Full collections walked everything the process loaded at start, stopping every player for
    a tenth of a second or more; the warm-up moves it out of their way, garbage collected first."""
    import gc
    import weakref

    class Node:
        pass

    monkeypatch.setattr(background.embeddings, "embed_one", lambda text: None)
    gc.unfreeze()
    gc.disable()  # no automatic collection meanwhile: only the warm-up's own may free the cycle
    node = Node()
    node.loop = node  # a cycle: only a collection frees it
    gone = weakref.ref(node)
    del node
    try:
        background._warm_up()
        assert gc.get_freeze_count() > 1000
        assert gone() is None  # collected, not kept for good
    finally:
        gc.enable()
        gc.unfreeze()


async def test_a_line_to_answer_stops_a_batch_after_the_text_in_hand(monkeypatch):
    """The line's own embedding waits for one text of the batch, not all of it; the rest follow once
    the line is answered."""
    monkeypatch.setattr(background, "EMBED_AFTER_SECONDS", 0.01)
    game_id = await _pending_exchange()
    embedded, real = [], embeddings.embed

    def embed(texts):
        embedded.append(list(texts))
        background._answering += 1  # a player's line arrives while the first text is being embedded
        return real(texts)

    monkeypatch.setattr(background.embeddings, "embed", embed)
    try:
        background.embed_soon(game_id=game_id, npc_slug="gareth")
        for _ in range(100):
            await asyncio.sleep(0.02)
            if embedded:
                break
        await asyncio.sleep(0.1)
        assert len(embedded) == 1 and await _pending(game_id) == 1, "one text of two, then it waits for the line"
    finally:
        monkeypatch.setattr(background.embeddings, "embed", real)
        background._answering -= len(embedded)
    await asyncio.wait_for(background.aembedding_settled(), 10)
    assert await _pending(game_id) == 0
