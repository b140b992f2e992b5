"""Which canon facts (npcs/canon.py) an NPC's reply draws on and is held to, read from the shared
world: the facts picked for the prompt (by keyword, meaning or always, with why), and every fact
the NPC keeps to, for the reply checks. A meaning match embeds the player's line once (the same
embeddings as memory retrieval and the reply cache)."""
from __future__ import annotations

from npcs.canon import CanonDef, CanonPick, canon_for_npc, canon_meaning, canon_pick


def canon_picks(world, *, npc_slug: str, line: str, by_meaning: bool = True) -> tuple[CanonPick, ...]:
    """The facts this NPC's prompt carries for this line, highest priority first; `by_meaning=False`:
    only those its keywords or `always` bring (no embedding)."""
    return canon_pick(world.canon, npc_slug=npc_slug, line=line, meaning=canon_meaning if by_meaning else None)


def canon_kept(world, *, npc_slug: str) -> tuple[CanonDef, ...]:
    """Every fact the NPC keeps to: what its replies are checked against, picked for this line or not."""
    return tuple(f for f in canon_for_npc(world.canon, npc_slug) if f.checkable)
