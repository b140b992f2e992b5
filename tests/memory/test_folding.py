"""Folding old turns into summaries: archiving, bounds over a long campaign, idempotence, model or fallback."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from memory import services
from memory.archive import archive_unpack
from memory.conf import memory_config
from memory.folding import _fold_chunk, claim_fold
from memory.models import FACT, SUMMARY, TURN, MemoryArchive, MemoryLedger, MemoryRecord
from memory.selectors import memory_archived_records, memory_footprint, memory_recent_turns, memory_retrieve
from tests.llm.fake_openai import Fail, Reply
from tests.memory.conftest import words

pytestmark = pytest.mark.django_db

LINES = [  # few distinct lines: the embedding cache keeps long conversations quick
    ("What's good to drink tonight?", "The dark ale is fresh."),
    ("Is the cellar dry?", "Dry as a bone, mostly."),
    ("Who is the bard upstairs?", "Old Pell, he sings of the war."),
    ("How much for a room?", "Five copper a night."),
]


def talk(game_id, count, *, start=0, npc="bram"):
    for i in range(start, start + count):
        line, reply = LINES[i % len(LINES)]
        services.memory_record_exchange(game_id=game_id, npc_slug=npc, player_line=line, npc_reply=reply, game_minute=i)


def kinds(game_id, npc="bram"):
    counts = {}
    for kind in MemoryRecord.objects.filter(game_id=game_id, npc_slug=npc).values_list("kind", flat=True):
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def test_summarise__folds_the_oldest_and_keeps_the_recent(game_id):
    services.memory_record_exchange(game_id=game_id, npc_slug="bram", player_line="My name is Aldric and I owe you 3 gold.",
                                    npc_reply="I'll hold you to it.", game_minute=0)
    talk(game_id, 6, start=1)  # 14 turns: over SUMMARISE_AFTER = 10
    recent_before = memory_recent_turns(game_id=game_id, npc_slug="bram", limit=4)
    assert services.memory_summarise(game_id=game_id, npc_slug="bram") == 10
    assert kinds(game_id) == {TURN: 4, SUMMARY: 1, FACT: 2}
    assert memory_recent_turns(game_id=game_id, npc_slug="bram", limit=12) == recent_before
    summary = MemoryRecord.objects.get(game_id=game_id, kind=SUMMARY)
    assert summary.folded_count == 10 and summary.written_by == "extractive"
    assert "owe you 3 gold" in summary.text  # the most important line made it in
    assert summary.importance == pytest.approx(max(0.0, summary.importance)) and len(summary.embedding) == 768
    assert MemoryLedger.objects.get(game_id=game_id).raw_count == 4


def test_summarise__archives_the_folded_turns_compressed(game_id):
    talk(game_id, 7)
    services.memory_summarise(game_id=game_id, npc_slug="bram")
    (archive,) = MemoryArchive.objects.filter(game_id=game_id)
    entries = archive_unpack(bytes(archive.data))
    assert archive.rows == len(entries) == 10
    assert entries[0] == {"kind": "turn", "speaker": "player", "minute": 0, "importance": pytest.approx(entries[0]["importance"]),
                          "text": LINES[0][0]}
    assert len(archive.data) < sum(len(e["text"]) for e in entries)
    assert memory_archived_records(game_id=game_id, npc_slug="bram", limit=3)[-1]["text"] == entries[-1]["text"]


def test_summarise__twice_folds_nothing_more(game_id):
    talk(game_id, 7)
    assert services.memory_summarise(game_id=game_id, npc_slug="bram") == 10
    before = list(MemoryRecord.objects.filter(game_id=game_id).values_list("id", flat=True))
    assert services.memory_summarise(game_id=game_id, npc_slug="bram") == 0
    assert list(MemoryRecord.objects.filter(game_id=game_id).values_list("id", flat=True)) == before
    assert MemoryArchive.objects.filter(game_id=game_id).count() == 1


def test_summarise__under_the_threshold_does_nothing(game_id):
    talk(game_id, 5)
    assert services.memory_summarise(game_id=game_id, npc_slug="bram") == 0
    assert services.memory_summarise(game_id=game_id, npc_slug="nobody") == 0


def test_fold__a_fold_that_raced_another_commits_nothing(game_id):
    """Two workers read the same old turns; the second to commit finds them gone and folds nothing."""
    talk(game_id, 7)
    stale = list(MemoryRecord.objects.filter(game_id=game_id, kind=TURN).order_by("id").values(
        "id", "kind", "speaker", "text", "importance", "game_minute", "last_used_minute")[:10])
    assert services.memory_summarise(game_id=game_id, npc_slug="bram") == 10
    assert _fold_chunk(game_id, "bram", stale, config=memory_config(), use_model=False) == 0
    assert kinds(game_id) == {TURN: 4, SUMMARY: 1}
    assert MemoryArchive.objects.filter(game_id=game_id).count() == 1


def test_fold__a_held_lease_keeps_a_second_worker_out(game_id):
    talk(game_id, 7)
    assert claim_fold(game_id=game_id, npc_slug="bram", threshold=10)  # worker one, still busy
    assert services.memory_summarise(game_id=game_id, npc_slug="bram") == 0
    MemoryLedger.objects.filter(game_id=game_id).update(fold_claimed_at=timezone.now() - timedelta(minutes=6))
    assert services.memory_summarise(game_id=game_id, npc_slug="bram") == 10  # worker one died: the lease lapsed
    assert MemoryLedger.objects.get(game_id=game_id).fold_claimed_at is None


def test_long_campaign__rows_stay_bounded(game_id, memory_settings):
    """300 exchanges, summarised every few turns as the periodic job would: rows and archives stay capped."""
    services.memory_record_exchange(game_id=game_id, npc_slug="bram", player_line="My sister is called Mira.",
                                    npc_reply="A fine name.", game_minute=0)
    peak = 0
    for start in range(1, 300, 5):
        talk(game_id, 5, start=start)
        services.memory_summarise_due()
        peak = max(peak, MemoryRecord.objects.filter(game_id=game_id).count())
    footprint = memory_footprint(game_id=game_id, npc_slug="bram")
    config = memory_config()
    assert footprint.raw <= config.summarise_after
    assert footprint.summaries <= config.max_summaries
    assert footprint.facts == 1  # never summarised away
    assert footprint.archives <= config.max_archives
    assert footprint.archived_records <= config.archive_max_turns
    assert peak <= config.summarise_after + 10 + config.max_summaries + 1 + 1
    found = memory_retrieve(game_id=game_id, npc_slug="bram", query="What is my sister called?", now_minute=300,
                            token_budget=60, count_tokens=words)
    assert found[0].text == "The player's sister is called Mira."


def test_summaries__merge_when_too_many(game_id, memory_settings):
    memory_settings.update(MAX_SUMMARIES=3, MERGE_SUMMARIES=2)
    for start in range(0, 28, 7):
        talk(game_id, 7, start=start)
        services.memory_summarise(game_id=game_id, npc_slug="bram")
    summaries = list(MemoryRecord.objects.filter(game_id=game_id, kind=SUMMARY).order_by("game_minute"))
    assert len(summaries) <= 3
    assert sum(s.folded_count for s in summaries) == 56 - MemoryRecord.objects.filter(game_id=game_id, kind=TURN).count()


def test_summarise_due__only_pairs_over_the_threshold(game_id):
    talk(game_id, 7, npc="bram")
    talk(game_id, 2, npc="mags")
    assert services.memory_summarise_due(limit=10) == 10
    assert kinds(game_id, "mags") == {TURN: 4}


# --- the model writes the summary (the fake OpenAI server) -------------------------------------------
SUMMARY_TEXT = "The player asked Bram about drinks, the cellar, the bard Pell and the price of a room."


def test_summarise__uses_the_models_summary(game_id, model_on):
    talk(game_id, 7)
    model_on.default = Reply("5")  # importance ratings, if any are asked for
    model_on.script(Reply(SUMMARY_TEXT))
    assert services.memory_summarise(game_id=game_id, npc_slug="bram") == 10
    summary = MemoryRecord.objects.get(game_id=game_id, kind=SUMMARY)
    assert (summary.text, summary.written_by) == (SUMMARY_TEXT, "model")
    request = model_on.chat_requests[0]
    assert "Summarise the conversation" in request["messages"][0]["content"]
    assert "Player: Is the cellar dry?" in request["messages"][1]["content"]
    assert "Bram: Dry as a bone, mostly." in request["messages"][1]["content"]


@pytest.mark.parametrize("behaviour", [Fail(500), Reply("Aye, what'll it be?"), Reply("!!! ### 42 ???"), Reply("")],
                         ids=["http-500", "unrelated", "not-prose", "empty"])
def test_summarise__falls_back_to_extractive(game_id, model_on, behaviour):
    talk(game_id, 7)
    model_on.script(behaviour, behaviour)
    assert services.memory_summarise(game_id=game_id, npc_slug="bram") == 10
    summary = MemoryRecord.objects.get(game_id=game_id, kind=SUMMARY)
    assert summary.written_by == "extractive" and "said" in summary.text
    assert model_on.chat_count >= 1


@pytest.mark.django_db(transaction=True)
def test_summarise__two_workers_at_once_fold_once(model_on):
    """Worker one waits on the model; its lease lapses and worker two starts: still one fold."""
    game_id = "5b0d6f1e-8a44-4c55-9a51-2f1f3cc1b0aa"
    talk(game_id, 7)
    model_on.script(Reply(SUMMARY_TEXT, first_token_delay=0.4), Reply(SUMMARY_TEXT, first_token_delay=0.4))
    results: list[int] = []

    def worker() -> None:
        try:
            results.append(services.memory_summarise(game_id=game_id, npc_slug="bram"))
        finally:
            connection.close()

    first = threading.Thread(target=worker)
    first.start()
    assert model_on.wait_for_chat_requests(1)
    MemoryLedger.objects.filter(game_id=game_id).update(fold_claimed_at=None)  # as if the lease ran out
    second = threading.Thread(target=worker)
    second.start()
    first.join(10)
    second.join(10)
    assert sorted(results) == [0, 10]
    assert kinds(game_id) == {TURN: 4, SUMMARY: 1}
    assert MemoryArchive.objects.filter(game_id=game_id).count() == 1
