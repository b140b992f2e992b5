"""Which canon facts (npcs/canon.py) an NPC's reply draws on and is held to, read from the shared
world: the facts picked for the prompt (by keyword, meaning or always, with why), and every fact
the NPC keeps to, for the reply checks. A meaning match embeds the player's line once (the same
embeddings as memory retrieval and the reply cache)."""
from __future__ import annotations

import logging
from collections.abc import Sequence

from llm import embeddings
from npcs.canon import CanonDef, CanonPick, canon_for_npc, canon_pick

logger = logging.getLogger(__name__)


def canon_picks(world, *, npc_slug: str, line: str) -> tuple[CanonPick, ...]:
    """The facts this NPC's prompt carries for this line, highest priority first."""
    return canon_pick(world.canon, npc_slug=npc_slug, line=line, meaning=_meaning)


def canon_kept(world, *, npc_slug: str) -> tuple[CanonDef, ...]:
    """Every fact the NPC keeps to: what its replies are checked against, picked for this line or not."""
    return tuple(f for f in canon_for_npc(world.canon, npc_slug) if f.checkable)


def _meaning(line: str, texts: Sequence[str]) -> list[float]:
    try:
        vectors = embeddings.embed([line, *texts])
    except Exception:  # a meaning match is a bonus: keywords and always-on facts still go in
        logger.warning("canon: the line could not be embedded for a meaning match", exc_info=True)
        return [0.0] * len(texts)
    return [embeddings.similarity(vectors[0], v) for v in vectors[1:]]
