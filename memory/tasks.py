"""Celery tasks for NPC memory: thin wrappers that call one service each (see STYLE.md).

All are idempotent. The per-record and per-pair tasks retry when the database is busy (a locked
SQLite file, a dropped connection); the periodic ones simply run again next minute.
"""
from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from . import services

_RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "max_retries": 3}


@shared_task(ignore_result=True, **_RETRY)
def summarise(game_id: str, npc_slug: str) -> int:
    """Fold one (game, NPC)'s old turns into a summary if due."""
    return services.memory_summarise(game_id=game_id, npc_slug=npc_slug)


@shared_task(ignore_result=True)
def summarise_due(limit: int = 100) -> int:
    """Periodic: fold every (game, NPC) over the threshold (also `manage.py summarise`)."""
    return services.memory_summarise_due(limit=limit)


@shared_task(ignore_result=True, **_RETRY)
def refine_importance(record_id: int) -> bool:
    """Have the model rate one record's importance; a record already rated is left alone."""
    return services.memory_refine_importance(record_id=record_id)


@shared_task(ignore_result=True)
def refine_due(limit: int = 20) -> int:
    """Periodic: rate pending records while the model is available (also `manage.py refine_importance`)."""
    return services.memory_refine_due(limit=limit)


@shared_task(ignore_result=True, **_RETRY)
def embed_pending(game_id: str, npc_slug: str) -> int:
    """Embed the records of one (game, NPC) that were remembered before their embedding."""
    return services.memory_embed_pending(game_id=game_id, npc_slug=npc_slug)


@shared_task(ignore_result=True)
def embed_due(limit: int = 200) -> int:
    """Periodic: embed any record still waiting (its own background embedding never ran)."""
    return services.memory_embed_due(limit=limit)
