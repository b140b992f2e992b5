"""Writes of per-game NPC state."""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

from django.db.models import F

from .models import Npc, NpcState
from .persona import NpcDef
from .selectors import NpcStateValue


def npc_states_create(*, game_id: uuid.UUID, npcs: Iterable[NpcDef]) -> None:
    NpcState.objects.bulk_create(
        [NpcState(game_id=game_id, npc_id=npc.id, mood=npc.initial_mood, relationship=0, flags={}) for npc in npcs],
        ignore_conflicts=True,
    )


def npc_states_save(*, game_id: uuid.UUID, changed: Mapping[str, NpcStateValue], npc_ids: Mapping[str, int]) -> None:
    """Save the changed NPC states of one game: one query to read ids, one bulk update, one bulk insert at most."""
    if not changed:
        return
    ids = [npc_ids[slug] for slug in changed if slug in npc_ids]
    existing = {row.npc_id: row for row in NpcState.objects.filter(game_id=game_id, npc_id__in=ids)}
    to_update, to_create = [], []
    for slug, value in changed.items():
        npc_id = npc_ids.get(slug)
        if npc_id is None:
            continue
        relationship = max(-100, min(100, value.relationship))
        row = existing.get(npc_id)
        if row is None:
            to_create.append(NpcState(game_id=game_id, npc_id=npc_id, mood=value.mood, relationship=relationship, flags=value.flags))
        else:
            row.mood, row.relationship, row.flags = value.mood, relationship, value.flags
            to_update.append(row)
    if to_update:
        NpcState.objects.bulk_update(to_update, ["mood", "relationship", "flags"])
    if to_create:
        NpcState.objects.bulk_create(to_create, ignore_conflicts=True)


def npc_persona_touch(*, npc: Npc) -> None:
    """Bump the persona version so cached replies that drew on the old persona stop matching."""
    Npc.objects.filter(pk=npc.pk).update(persona_version=F("persona_version") + 1)
