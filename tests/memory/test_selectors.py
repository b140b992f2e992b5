"""Retrieval under a token budget (pinned facts first, relevance, recency), the recent turns, the cache."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from llm import embeddings
from memory import services
from django.db.models import F

from memory.models import FACT, MemoryLedger, MemoryRecord
from memory.retrieval import matrix_cache
from memory.selectors import memory_footprint, memory_matrix, memory_recall, memory_recent_turns, memory_retrieve, recent_window
from tests.memory.conftest import words

pytestmark = pytest.mark.django_db

TOPICS = [
    ("Where do you keep the spare barrels?", "Down in the cellar, behind the old cider press."),
    ("Has it rained much this week?", "Buckets. The roof leaks by the hearth."),
    ("Who plays dice in the corner?", "Tinkers from the east road. Don't bet with them."),
    ("What's the stew tonight?", "Mutton and turnip, same as ever."),
    ("Any news of the bandits on the north road?", "The watch hanged two at dawn."),
    ("I hear music upstairs.", "That's the bard. He owes me for three nights."),
]


def say(game_id, line, reply="Aye.", minute=0):
    services.memory_record_exchange(game_id=game_id, npc_slug="bram", player_line=line, npc_reply=reply, game_minute=minute)


def retrieve(game_id, query, *, budget=200, now=1000, **extra):
    return memory_retrieve(game_id=game_id, npc_slug="bram", query=query, now_minute=now, token_budget=budget,
                           count_tokens=words, **extra)


@pytest.fixture
def tavern_talk(game_id):
    say(game_id, "My name is Aldric and my sister is called Mira.", "Welcome, Aldric.", minute=0)
    for minute, (line, reply) in enumerate(TOPICS, start=1):
        say(game_id, line, reply, minute=minute * 10)
    for minute in range(100, 106):  # recent small talk: the 12 turns the prompt shows as recent
        say(game_id, "Another ale.", "Here you are.", minute=minute)
    return game_id


def test_retrieve__pinned_facts_first(tavern_talk):
    found = retrieve(tavern_talk, "Tell me about the bandits.")
    assert [m.kind for m in found[:2]] == [FACT, FACT]
    assert {m.text for m in found[:2]} == {"The player's name is Aldric.", "The player's sister is called Mira."}
    assert all(m.pinned for m in found[:2]) and not any(m.pinned for m in found[2:])
    assert "pinned fact" in found[0].why


def test_retrieve__prefers_relevant_memories(tavern_talk):
    found = [m for m in retrieve(tavern_talk, "Is anything stored down in the cellar?") if not m.pinned]
    assert "cellar" in found[0].text
    assert found[0].relevance == max(m.relevance for m in found)
    assert "relevant" in found[0].why
    found = [m for m in retrieve(tavern_talk, "Were the north road bandits caught?") if not m.pinned]
    assert "bandits" in found[0].text or "hanged" in found[0].text


def test_retrieve__leaves_out_the_recent_turns(tavern_talk):
    texts = [m.text for m in retrieve(tavern_talk, "ale", budget=10_000)]
    assert "Another ale." not in texts and "Here you are." not in texts
    texts = [m.text for m in retrieve(tavern_talk, "ale", budget=10_000, skip_recent_turns=0)]
    assert "Another ale." in texts


def test_retrieve__tight_budget_still_starts_with_the_best_fact(tavern_talk):
    found = retrieve(tavern_talk, "What was my name again?", budget=6)
    assert found[0].text == "The player's name is Aldric."
    assert sum(words(m.text) for m in found) <= 6


def test_retrieve__facts_take_half_the_budget_when_others_need_room(tavern_talk, memory_settings):
    both = {"The player's name is Aldric.", "The player's sister is called Mira."}  # 11 words together
    found = retrieve(tavern_talk, "Any news of the bandits?", budget=12)
    assert found[0].pinned and sum(m.pinned for m in found) == 1 and len(found) > 1
    memory_settings["PINNED_SHARE"] = 1.0
    found = retrieve(tavern_talk, "Any news of the bandits?", budget=12)
    assert {m.text for m in found if m.pinned} == both and [m.pinned for m in found[:2]] == [True, True]


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(budget=st.integers(min_value=0, max_value=120), limit=st.integers(min_value=0, max_value=30),
       query=st.sampled_from(["", "cellar", "my sister", "What did I tell you my name was?", "dice!"]))
def test_retrieve__never_over_budget(tavern_talk, budget, limit, query):
    found = retrieve(tavern_talk, query, budget=budget, limit=limit)
    assert sum(words(m.text) for m in found) <= budget
    assert len(found) <= limit
    assert len({m.id for m in found}) == len(found)
    pins = [m.pinned for m in found]
    assert pins == sorted(pins, reverse=True)


def test_retrieve__older_memories_fade_unless_used(game_id):
    say(game_id, "The harvest festival is next week.", "Aye, with a pie contest.", minute=0)
    say(game_id, "The harvest festival is next week.", "Aye, with a pie contest.", minute=2880)
    found = [m for m in retrieve(game_id, "festival", now=2880, skip_recent_turns=0) if m.text.startswith("The harvest")]
    old, new = sorted(found, key=lambda m: m.game_minute)
    assert old.recency == pytest.approx(0.25) and new.recency == pytest.approx(1.0)
    assert new.score > old.score


def test_retrieve__unknown_game_or_npc_is_empty(game_id):
    assert retrieve(game_id, "anything") == ()
    say(game_id, "Hello there, friend.")
    assert memory_retrieve(game_id=game_id, npc_slug="mags", query="x", now_minute=0, token_budget=50, count_tokens=words) == ()


def test_cache__appended_records_are_seen_without_a_reload(tavern_talk):
    first = memory_matrix(game_id=tavern_talk, npc_slug="bram")
    say(tavern_talk, "The blacksmith's daughter eloped with a sailor.", "Scandal!", minute=200)
    second = memory_matrix(game_id=tavern_talk, npc_slug="bram")
    assert second.version == first.version and second.size == first.size + 2
    assert second.texts[: first.size] == first.texts
    assert any("eloped" in m.text for m in retrieve(tavern_talk, "Who eloped?", now=200, skip_recent_turns=0))


def test_cache__a_replaced_fact_invalidates_it(tavern_talk):
    retrieve(tavern_talk, "name")
    say(tavern_talk, "My name is Aldo, not Aldric.", minute=300)
    facts = {m.text for m in retrieve(tavern_talk, "name", now=300) if m.pinned}
    assert "The player's name is Aldo." in facts and "The player's name is Aldric." not in facts


def test_cache__a_fold_elsewhere_invalidates_it(tavern_talk):
    before = memory_matrix(game_id=tavern_talk, npc_slug="bram")
    assert services.memory_summarise(game_id=tavern_talk, npc_slug="bram") > 0  # as a worker would
    after = memory_matrix(game_id=tavern_talk, npc_slug="bram")
    assert after.version > before.version and "summary" in after.kinds
    assert after.size == MemoryRecord.objects.filter(game_id=tavern_talk).count()


def test_cache__a_missed_append_is_caught_by_the_raw_count(tavern_talk):
    """A row committed out of id order would not be appended; the ledger's raw count gives it away."""
    before = memory_matrix(game_id=tavern_talk, npc_slug="bram")
    victim = MemoryRecord.objects.filter(game_id=tavern_talk, kind="turn").order_by("id").first()
    victim.delete()
    MemoryLedger.objects.filter(game_id=tavern_talk).update(raw_count=F("raw_count") - 1)
    after = memory_matrix(game_id=tavern_talk, npc_slug="bram")
    assert after.size == before.size - 1 and victim.text not in after.texts[:1]


def test_recent_turns__oldest_first_limited(tavern_talk):
    turns = memory_recent_turns(game_id=tavern_talk, npc_slug="bram", limit=3)
    assert turns == (("npc", "Here you are."), ("player", "Another ale."), ("npc", "Here you are."))
    assert len(memory_recent_turns(game_id=tavern_talk, npc_slug="bram")) == 12
    assert memory_recent_turns(game_id=tavern_talk, npc_slug="nobody") == ()


@pytest.mark.parametrize("total, shown", [(5, 5), (12, 12), (13, 7), (17, 11), (18, 6), (19, 7), (24, 6), (25, 7)])
def test_recent_window__moves_a_step_at_a_time_past_the_limit(total, shown):
    assert recent_window(total, limit=12, step=6) == shown


def test_recent_turns__with_a_step_the_window_keeps_its_start_for_several_turns(game_id):
    """Each turn a conversation's window starts where it did the turn before, until it moves a
    whole step on: the prompt's start (and a model server's copy of it) stays the same."""
    starts = []
    for n in range(8):
        say(game_id, f"Line {n}.", f"Reply {n}.", minute=n)  # two turns each
        starts.append(memory_recent_turns(game_id=game_id, npc_slug="bram", limit=6, step=4)[0])
    assert starts[:3] == [("player", "Line 0.")] * 3  # 2, 4, 6 turns: all shown
    assert starts[3:] == [("player", "Line 2."), ("player", "Line 4."), ("player", "Line 4."),  # 8 turns on: 4 at a time
                          ("player", "Line 6."), ("player", "Line 6.")]


def test_footprint__counts_rows_and_bytes(tavern_talk):
    footprint = memory_footprint(game_id=tavern_talk, npc_slug="bram")
    assert footprint.facts == 2 and footprint.raw == 2 * (1 + len(TOPICS) + 6)
    assert footprint.records == footprint.facts + footprint.raw and footprint.database_bytes > 768 * footprint.records


def test_retrieve__accepts_the_callers_query_vector(tavern_talk):
    from llm.embeddings import embed_one

    vector = embed_one("Is anything stored down in the cellar?")
    given = retrieve(tavern_talk, "", query_vector=vector)
    assert given == retrieve(tavern_talk, "Is anything stored down in the cellar?")


@pytest.fixture
def cold_embeddings():
    """No text embedded yet in this process: records are kept without their vectors."""
    embeddings.clear_cache()


def test_retrieve__memories_recorded_before_their_embedding_are_ranked_by_relevance(cold_embeddings, tavern_talk):
    """The exchange is remembered at once and embedded in the background; a retrieval that comes
    first embeds what it could choose (writing nothing), and one after the background job reads
    the stored vectors, including into a matrix it had cached while they were pending."""
    assert MemoryRecord.objects.filter(game_id=tavern_talk, embedding_pending=True).exists()
    before = [m for m in retrieve(tavern_talk, "Is anything stored down in the cellar?") if not m.pinned]
    assert "cellar" in before[0].text and before[0].relevance > 0.3
    assert MemoryRecord.objects.filter(game_id=tavern_talk, embedding_pending=True).exists()  # a selector writes nothing

    matrix_cache().clear()
    memory_matrix(game_id=tavern_talk, npc_slug="bram")  # cached with the pending rows as zeros
    embeddings.clear_cache()
    services.memory_embed_pending(game_id=tavern_talk, npc_slug="bram")
    assert not matrix_cache().get((tavern_talk, "bram")).pending.any()
    after = [m for m in retrieve(tavern_talk, "Is anything stored down in the cellar?") if not m.pinned]
    assert [m.text for m in after] == [m.text for m in before]
    assert [m.relevance for m in after] == pytest.approx([m.relevance for m in before], abs=2e-3)


def test_retrieve__nothing_but_the_recent_turns_is_not_worth_an_embedding(game_id):
    embeddings.clear_cache()
    say(game_id, "Another ale.", "Here you are.")
    assert retrieve(game_id, "What a question nobody asked before", skip_recent_turns=12) == ()
    assert embeddings.embedded_already(["What a question nobody asked before"]) == [None]


def test_recall__one_read_when_the_npc_remembers_nothing(game_id, django_assert_num_queries):
    with django_assert_num_queries(1):
        recall = memory_recall(game_id=game_id, npc_slug="bram", query="Hello", now_minute=0, token_budget=200,
                               count_tokens=words)
    assert (recall.recent, recall.recalled) == ((), ())
    say(game_id, "My name is Aldric.", "Welcome, Aldric.")
    recall = memory_recall(game_id=game_id, npc_slug="bram", query="Hello", now_minute=0, token_budget=200, count_tokens=words)
    assert recall.recent == (("player", "My name is Aldric."), ("npc", "Welcome, Aldric."))
    assert [m.text for m in recall.recalled] == ["The player's name is Aldric."]


def recall(game_id, query, *, also=(), budget=400, recent_limit=4):
    return memory_recall(game_id=game_id, npc_slug="bram", query=query, now_minute=1000, token_budget=budget,
                         count_tokens=words, recent_limit=recent_limit, also=also)


def test_recall__reads_only_the_owners_it_is_given(tavern_talk):
    """Owners are how private words stay private: a game's whispers and a room's public words are
    kept under owners of their own, and only a prompt whose plan names them recalls them."""
    import uuid

    whispers, room = str(uuid.uuid4()), str(uuid.uuid4())
    say(whispers, "Between us: the mill's deeds are forged.", "My lips are sealed.", minute=200)
    services.memory_record_observation(game_id=room, npc_slug="bram", text='Ann said aloud to Bram: "The mill burned down."',
                                       game_minute=150, embed_now=False)
    alone = recall(tavern_talk, "What about the mill?")
    assert not [m for m in alone.recalled if "mill" in m.text] and not [t for _, t in alone.recent if "mill" in t]

    with_room = recall(tavern_talk, "What about the mill?", also=(room,))
    assert any("mill burned" in m.text for m in with_room.recalled)
    assert not any("forged" in text for _, text in with_room.recent) and not any("forged" in m.text for m in with_room.recalled)

    whispering = recall(tavern_talk, "What about the mill?", also=(whispers, room))
    assert [text for _, text in whispering.recent][-2:] == ["Between us: the mill's deeds are forged.", "My lips are sealed."]
    assert len(whispering.recent) == 4  # the newest turns of both owners, in the order they happened
    assert sum(words(m.text) for m in whispering.recalled) <= 400
