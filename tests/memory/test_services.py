"""Recording exchanges, observations and facts; marking use; rating importance; forgetting a game."""
from __future__ import annotations

import uuid

import pytest

from llm import embeddings
from memory import services
from memory.models import FACT, OBSERVATION, TURN, MemoryLedger, MemoryRecord
from memory.selectors import memory_recent_turns, memory_retrieve
from tests.llm.fake_openai import Fail, Reply
from tests.memory.conftest import words

pytestmark = pytest.mark.django_db


def say(game_id, line, reply="Aye.", minute=0, npc="bram"):
    services.memory_record_exchange(game_id=game_id, npc_slug=npc, player_line=line, npc_reply=reply, game_minute=minute)


def facts(game_id, npc="bram"):
    return dict(MemoryRecord.objects.filter(game_id=game_id, npc_slug=npc, kind=FACT).values_list("key", "text"))


def test_record_exchange__stores_both_turns_at_once_and_their_embeddings_after(game_id):
    embeddings.clear_cache()
    assert services.memory_record_exchange(game_id=game_id, npc_slug="bram", player_line="Where is the cellar?",
                                           npc_reply="Behind the bar, love.", game_minute=30) is True
    rows = list(MemoryRecord.objects.filter(game_id=game_id).order_by("id"))
    assert [(r.kind, r.speaker, r.text) for r in rows] == [
        (TURN, "player", "Where is the cellar?"), (TURN, "npc", "Behind the bar, love.")]
    assert all(0 <= r.importance <= 1 and r.game_minute == r.last_used_minute == 30 for r in rows)
    assert [(bytes(r.embedding), r.embedding_pending) for r in rows] == [(b"", True), (b"", True)]
    assert MemoryLedger.objects.get(game_id=game_id, npc_slug="bram").raw_count == 2

    assert services.memory_embed_pending(game_id=game_id, npc_slug="bram") == 2
    rows = list(MemoryRecord.objects.filter(game_id=game_id).order_by("id"))
    assert [(len(r.embedding), r.embedding_pending) for r in rows] == [(768, False), (768, False)]
    assert embeddings.from_bytes(bytes(rows[0].embedding)) == pytest.approx(embeddings.embed_one("Where is the cellar?"), abs=1e-3)
    assert services.memory_embed_pending(game_id=game_id, npc_slug="bram") == 0


def test_record_exchange__a_line_this_process_embedded_already_is_stored_with_its_vector(game_id):
    embeddings.clear_cache()
    embeddings.embed_one("Where is the cellar?")  # as the reply cache's matching or memory retrieval did
    assert services.memory_record_exchange(game_id=game_id, npc_slug="bram", player_line="Where is the cellar?",
                                           npc_reply="", game_minute=30) is False
    (row,) = MemoryRecord.objects.filter(game_id=game_id)
    assert (len(row.embedding), row.embedding_pending) == (768, False)


def test_embed_due__embeds_what_no_background_job_did(game_id):
    embeddings.clear_cache()
    say(game_id, "My name is Aldric.", "Welcome, Aldric.")
    say(str(uuid.uuid4()), "Where is the cellar?", "Down the stairs.", npc="mags")
    assert MemoryRecord.objects.filter(embedding_pending=True).count() == 5  # two exchanges and a fact
    assert services.memory_embed_due() == 5
    assert not MemoryRecord.objects.filter(embedding_pending=True).exists()


def test_embed_due__its_limit_counts_game_and_npc_pairs_not_records(game_id):
    embeddings.clear_cache()
    for n in range(3):
        say(game_id, f"Tell me of the {n} bells.", f"The bell {n} rang.", npc="bram")
    say(game_id, "Where is the cellar?", "Down the stairs.", npc="mags")
    assert services.memory_embed_due(limit=2) == 8
    assert not MemoryRecord.objects.filter(embedding_pending=True).exists()


def test_record_exchange__empty_reply_stores_the_line_alone(game_id):
    say(game_id, "Hello?", "   ")
    assert memory_recent_turns(game_id=game_id, npc_slug="bram") == (("player", "Hello?"),)


def test_record_exchange__keeps_npcs_and_games_apart(game_id):
    say(game_id, "My name is Aldric.", npc="bram")
    say(game_id, "My name is Wren.", npc="mags")
    say(str(uuid.uuid4()), "My name is Oskar.", npc="bram")
    assert facts(game_id, "bram") == {"name": "The player's name is Aldric."}
    assert facts(game_id, "mags") == {"name": "The player's name is Wren."}


def test_facts__extracted_pinned_and_replaced_when_restated(game_id):
    say(game_id, "My name is Aldric and my sister is called Mira.", minute=5)
    say(game_id, "I owe Bram twelve silver.", minute=6)
    assert facts(game_id) == {
        "name": "The player's name is Aldric.",
        "kin:sister": "The player's sister is called Mira.",
        "debt:bram": "The player owes Bram twelve silver.",
    }
    say(game_id, "Truth be told, my name is Aldo.", minute=90)
    say(game_id, "I owe Bram twenty silver now.", minute=91)
    assert facts(game_id)["name"] == "The player's name is Aldo."
    assert facts(game_id)["debt:bram"] == "The player owes Bram twenty silver now."
    assert MemoryRecord.objects.filter(game_id=game_id, kind=FACT).count() == 3
    name = MemoryRecord.objects.get(game_id=game_id, kind=FACT, key="name")
    assert name.pinned and name.game_minute == 90 and name.importance > 0.9


def test_facts__only_from_the_players_lines(game_id):
    say(game_id, "What's your name?", "My name is Bram, and I owe nobody.")
    assert facts(game_id) == {}


def test_facts__capped_least_important_go_first(game_id, memory_settings):
    memory_settings["MAX_FACTS"] = 3
    say(game_id, "My name is Aldric.", minute=1)
    for minute, thing in enumerate(["a red hat", "a blue hat", "a green hat", "a gold hat"], start=2):
        say(game_id, f"I'm looking for {thing}.", minute=minute)
    kept = facts(game_id)
    assert len(kept) == 3 and "name" in kept
    assert "goal:gold-hat" in kept and "goal:red-hat" not in kept


def test_record_observation__stored_as_raw_and_retrievable(game_id):
    services.memory_record_observation(game_id=game_id, npc_slug="bram", text="The player broke a chair in a brawl.", game_minute=10)
    (row,) = MemoryRecord.objects.filter(game_id=game_id)
    assert row.kind == OBSERVATION and row.speaker == ""
    found = memory_retrieve(game_id=game_id, npc_slug="bram", query="Who broke the chair?", now_minute=20,
                            token_budget=100, count_tokens=words)
    assert [m.text for m in found] == ["The player broke a chair in a brawl."]


def test_mark_used__moves_last_use_forward_only(game_id):
    say(game_id, "My name is Aldric.", minute=10)
    fact = MemoryRecord.objects.get(game_id=game_id, kind=FACT)
    assert services.memory_mark_used(game_id=game_id, npc_slug="bram", ids=[fact.id], now_minute=500) == 1
    assert services.memory_mark_used(ids=[fact.id], now_minute=100) == 0  # game and NPC found from the ids
    fact.refresh_from_db()
    assert fact.last_used_minute == 500
    assert services.memory_mark_used(game_id=game_id, npc_slug="bram", ids=[], now_minute=900) == 0


def test_mark_used__recency_counts_from_last_use(game_id):
    say(game_id, "My name is Aldric.", minute=0)
    query = dict(game_id=game_id, npc_slug="bram", query="name", token_budget=100, count_tokens=words, skip_recent_turns=0)
    (before,) = [m for m in memory_retrieve(now_minute=2880, **query) if m.kind == FACT]
    services.memory_mark_used(game_id=game_id, npc_slug="bram", ids=[before.id], now_minute=2880)
    (after,) = [m for m in memory_retrieve(now_minute=2880, **query) if m.kind == FACT]
    assert before.recency == pytest.approx(0.25) and after.recency == pytest.approx(1.0)


def test_mark_used__without_game_and_npc_still_updates_the_cache(game_id):
    say(game_id, "My name is Aldric.", minute=0)
    query = dict(game_id=game_id, npc_slug="bram", query="name", token_budget=100, count_tokens=words, skip_recent_turns=0)
    (fact,) = [m for m in memory_retrieve(now_minute=1440, **query) if m.kind == FACT]
    services.memory_mark_used(ids=[fact.id], now_minute=1440)
    (after,) = [m for m in memory_retrieve(now_minute=1440, **query) if m.kind == FACT]
    assert fact.recency == pytest.approx(0.5) and after.recency == pytest.approx(1.0)


def test_forget_game__removes_every_row_of_that_game_only(game_id):
    other = str(uuid.uuid4())
    say(game_id, "My name is Aldric.")
    say(other, "My name is Wren.")
    memory_retrieve(game_id=game_id, npc_slug="bram", query="x", now_minute=0, token_budget=50, count_tokens=words)
    assert services.memory_forget_game(game_id=game_id) == 3 + 1  # two turns, a fact, the ledger
    assert not MemoryRecord.objects.filter(game_id=game_id).exists()
    assert memory_retrieve(game_id=game_id, npc_slug="bram", query="x", now_minute=0, token_budget=50, count_tokens=words) == ()
    assert MemoryRecord.objects.filter(game_id=other).count() == 3


def test_hard_limit__folds_without_a_worker(game_id, memory_settings):
    memory_settings.update(HARD_RAW_LIMIT=20, SUMMARISE_AFTER=10, KEEP_RAW=4)
    for i in range(40):  # few distinct lines: the embedding cache keeps this quick
        say(game_id, f"Tell me about barrel number {i % 4}.", f"Barrel {i % 4} is oak.", minute=i)
    assert MemoryRecord.objects.filter(game_id=game_id, kind__in=[TURN, OBSERVATION]).count() <= 20
    assert MemoryRecord.objects.filter(game_id=game_id, kind="summary").exists()


# --- importance by the model (the fake OpenAI server) ------------------------------------------------
def pending_row(game_id):
    say(game_id, "I lost my brother to the wolves last winter.", "I'm sorry, friend.")
    return MemoryRecord.objects.get(game_id=game_id, speaker="player")


def test_refine__the_models_rating_is_blended_in(game_id, model_on):
    row = pending_row(game_id)
    assert row.refine_pending and MemoryRecord.objects.filter(refine_pending=True).count() == 1  # not the reply
    model_on.script(Reply("9"))
    assert services.memory_refine_importance(record_id=row.id) is True
    heuristic = row.importance
    row.refresh_from_db()
    assert row.importance == pytest.approx(0.3 * heuristic + 0.7 * (8 / 9), abs=1e-3)
    assert row.importance_source == "model" and not row.refine_pending
    assert "I lost my brother" in model_on.chat_requests[-1]["messages"][-1]["content"]
    assert services.memory_refine_importance(record_id=row.id) is False  # already rated: no second call
    assert model_on.chat_count == 1


def test_refine__junk_keeps_the_heuristic_and_is_not_asked_again(game_id, model_on):
    row = pending_row(game_id)
    model_on.script(Reply("Aye, what'll it be?"))
    assert services.memory_refine_importance(record_id=row.id) is False
    refreshed = MemoryRecord.objects.get(id=row.id)
    assert refreshed.importance == row.importance and refreshed.importance_source == "heuristic"
    assert not refreshed.refine_pending


def test_refine__server_error_leaves_it_pending_for_later(game_id, model_on):
    row = pending_row(game_id)
    model_on.script(Fail(500), Fail(500))
    assert services.memory_refine_due(limit=10) == 0
    assert MemoryRecord.objects.get(id=row.id).refine_pending
    model_on.script(Reply("2"))
    assert services.memory_refine_due(limit=10) == 1
    assert not MemoryRecord.objects.get(id=row.id).refine_pending


def test_refine__switched_off_asks_nothing(game_id):
    say(game_id, "I lost my brother to the wolves.")
    assert not MemoryRecord.objects.filter(refine_pending=True).exists()
    assert services.memory_refine_due(limit=10) == 0
