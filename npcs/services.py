"""Writes of per-game NPC state."""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

from django.db.models import F
from django.utils import timezone

from .models import Npc, NpcState
from .persona import NpcDef, relationship_bounded
from .selectors import NpcStateValue


def npc_states_create(*, game_id: uuid.UUID, npcs: Iterable[NpcDef]) -> None:
    NpcState.objects.bulk_create(
        [NpcState(game_id=game_id, npc_id=npc.id, mood=npc.initial_mood, relationship=0, flags={}) for npc in npcs],
        ignore_conflicts=True,
    )


def npc_states_save(*, game_id: uuid.UUID, changed: Mapping[str, NpcStateValue], npc_ids: Mapping[str, int]) -> None:
    """Save the changed NPC states of one game (a turn changes one or two): one update each, and an
    insert for any that had no row (an NPC added to the world after the game began)."""
    to_create = []
    for slug, value in changed.items():
        npc_id = npc_ids.get(slug)
        if npc_id is None:
            continue
        fields = {"mood": value.mood, "relationship": relationship_bounded(value.relationship), "flags": value.flags}
        if not NpcState.objects.filter(game_id=game_id, npc_id=npc_id).update(**fields, updated_at=timezone.now()):
            to_create.append(NpcState(game_id=game_id, npc_id=npc_id, **fields))
    if to_create:
        NpcState.objects.bulk_create(to_create, ignore_conflicts=True)


def npc_persona_touch(*, npc: Npc) -> None:
    """Bump the persona version so cached replies that drew on the old persona stop matching."""
    Npc.objects.filter(pk=npc.pk).update(persona_version=F("persona_version") + 1)
