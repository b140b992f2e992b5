"""The per-(game, NPC) ledger row: the lock every write takes, and the version caches check."""
from __future__ import annotations

from django.db.models import F

from .models import MemoryLedger


def ledger_locked(game_id: str, npc_slug: str) -> MemoryLedger:
    """The (game, NPC)'s ledger, created if need be and locked until the transaction ends.

    Call inside `transaction.atomic()`. On SQLite the lock is the database's write lock (the
    settings open transactions with BEGIN IMMEDIATE); elsewhere it is SELECT ... FOR UPDATE.
    """
    MemoryLedger.objects.get_or_create(game_id=game_id, npc_slug=npc_slug)
    return MemoryLedger.objects.select_for_update().get(game_id=game_id, npc_slug=npc_slug)


def ledger_bump(game_id: str, npc_slug: str) -> None:
    """A change other than an append: cached matrices of this (game, NPC) are stale."""
    MemoryLedger.objects.filter(game_id=game_id, npc_slug=npc_slug).update(version=F("version") + 1)
