"""Constraints the database keeps for memory, whatever the code does."""
from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from memory.conf import memory_config
from memory.models import FACT, TURN, MemoryRecord

pytestmark = pytest.mark.django_db


def record(game_id, **fields):
    values = dict(game_id=game_id, npc_slug="bram", kind=TURN, text="x", importance=0.5, embedding=b"",
                  game_minute=0, last_used_minute=0) | fields
    return MemoryRecord.objects.create(**values)


def test_one_fact_per_key_and_npc(game_id):
    record(game_id, kind=FACT, key="name")
    record(game_id, kind=FACT, key="name", npc_slug="mags")
    record(game_id, kind=TURN, key="name")  # keys only bind facts
    with pytest.raises(IntegrityError), transaction.atomic():
        record(game_id, kind=FACT, key="name")


def test_importance_between_0_and_1(game_id):
    with pytest.raises(IntegrityError), transaction.atomic():
        record(game_id, importance=1.5)


def test_config__settings_keys_are_case_insensitive_and_unknown_ones_ignored(settings):
    settings.TANKARD_MEMORY = {"SUMMARISE_AFTER": 7, "keep_raw": 3, "NO_SUCH_KEY": 1}
    config = memory_config()
    assert (config.summarise_after, config.keep_raw, config.max_summaries) == (7, 3, 20)
