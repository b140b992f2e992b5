"""The Celery tasks and management commands are thin doors to the services."""
from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from memory import services, tasks
from memory.models import SUMMARY, MemoryRecord
from tests.llm.fake_openai import Reply
from tests.memory.test_folding import talk

pytestmark = pytest.mark.django_db


def test_beat_schedule_runs_the_summariser_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["memory-summarise"]
    assert entry == {"task": "memory.tasks.summarise_due", "schedule": 60.0}
    assert settings.CELERY_BEAT_SCHEDULE["memory-refine-importance"]["task"] == "memory.tasks.refine_due"


def test_beat_tasks_are_registered_where_the_embedded_worker_looks(game_id):
    """gameplay/background.py runs beat entries as `app.tasks[name].apply()`, with no autodiscovery."""
    from tankard_site.celery import app

    talk(game_id, 7)
    for entry in ("memory-summarise", "memory-refine-importance", "memory-embed"):
        assert settings.CELERY_BEAT_SCHEDULE[entry]["task"] in app.tasks
    assert app.tasks["memory.tasks.summarise_due"].apply().get() == 10


def test_summarise_task__folds_one_pair(game_id):
    talk(game_id, 7)
    assert tasks.summarise.apply(args=[game_id, "bram"]).get() == 10
    assert tasks.summarise.apply(args=[game_id, "bram"]).get() == 0


def test_summarise_due_task(game_id):
    talk(game_id, 7)
    assert tasks.summarise_due.apply().get() == 10


def test_refine_tasks(game_id, model_on):
    talk(game_id, 1)
    record = MemoryRecord.objects.get(game_id=game_id, speaker="player")
    model_on.script(Reply("6"))
    assert tasks.refine_importance.apply(args=[record.id]).get() is True
    talk(game_id, 1, start=1)
    model_on.script(Reply("3"))
    assert tasks.refine_due.apply().get() == 1


def test_summarise_command__all_due_or_one_pair(game_id):
    talk(game_id, 7)
    out = StringIO()
    call_command("summarise", "--game", game_id, "--npc", "bram", stdout=out)
    assert "Folded 10" in out.getvalue()
    assert MemoryRecord.objects.filter(game_id=game_id, kind=SUMMARY).count() == 1
    call_command("summarise", stdout=out)
    assert "Folded 0" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("summarise", "--game", game_id)


def test_refine_command(game_id):
    out = StringIO()
    call_command("refine_importance", "--limit", "5", stdout=out)
    assert "Rated 0" in out.getvalue()


def test_embed_task_and_command__embed_what_was_recorded_without_vectors(game_id):
    from llm import embeddings

    embeddings.clear_cache()
    services.memory_record_exchange(game_id=game_id, npc_slug="bram", player_line="A riddle for you, barkeep.",
                                    npc_reply="Go on then.", game_minute=1)
    assert tasks.embed_pending.apply(args=[game_id, "bram"]).get() == 2
    services.memory_record_exchange(game_id=game_id, npc_slug="mags", player_line="What of the old mill?",
                                    npc_reply="Burned, years back.", game_minute=2)
    out = StringIO()
    call_command("embed_memories", stdout=out)
    assert "Embedded 2" in out.getvalue()
    assert not MemoryRecord.objects.filter(embedding_pending=True).exists()
