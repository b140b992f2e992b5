"""Celery tasks for NPCs: thin wrappers that call one service each (see STYLE.md)."""
from __future__ import annotations

from celery import shared_task

from .pregen import npc_replies_pregenerate


@shared_task(ignore_result=True)
def pregenerate(max_replies: int | None = None) -> int:
    """Periodic: make the replies players are most likely to ask for next (also `manage.py pregenerate`).
    Idempotent: what is cached already is not made again."""
    return npc_replies_pregenerate(max_replies=max_replies).made
