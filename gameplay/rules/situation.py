"""The facts of the moment an NPC's reply may draw on, as plain values for prompt assembly."""
from __future__ import annotations

from llm.prompts import Situation

from . import clock
from .economy import for_sale_here
from .info import todays_rumours


def present_label(npc) -> str:
    """How the moment names someone in the room: "Wren Abney the serving maid"."""
    return f"{npc.name} the {npc.role}"


PATRON = "a traveller"


def patron_label(name: str) -> str:
    """How the moment names another player standing here, in a shared tavern: "Bram, a traveller"."""
    return f"{name}, {PATRON}"


def situation_for(ctx, npc_slug: str | None) -> Situation:
    """The moment as `npc_slug` sees it (None: as the narrator does)."""
    world, state = ctx.world, ctx.state
    loc = world.locations.get(state.location)
    others = [present_label(n) for n in ctx.present_npcs() if n.slug != npc_slug] + list(map(patron_label, ctx.present_patrons()))
    bounties = []
    for slug, step in state.bounties.items():
        b = world.bounties.get(slug)
        if b and step < len(b.objectives):
            bounties.append(f"{b.title}: {b.objectives[step].text}")
    rumours = [r.text for r in todays_rumours(ctx) if r.source == npc_slug][:3]
    mind = ctx.mind(npc_slug) if npc_slug else None
    return Situation(
        time_label=clock.time_frame(state.minute)["label"],
        place=loc.name if loc else state.location,
        present=tuple(others),
        prices=tuple(f"{i.name}: {i.price} gold" for i in sorted(for_sale_here(ctx), key=lambda i: i.price)[:10]),
        relationship_tier=ctx.tier(npc_slug) if npc_slug else "stranger",
        mood=mind.mood if mind else "calm",
        active_bounties=tuple(bounties[:4]),
        rumours=tuple(rumours),
        player_name=state.player_name,
    )
