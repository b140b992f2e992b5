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
