"""The tavern's mystery: clues found by examining things and by asking the right people, and the
accusation that ends it."""
from __future__ import annotations

from npcs.persona import tier_at_least

from . import clock
from .context import Refusal, TurnContext
from .lookup import find_npc
from .parser import Intent


def _found(ctx: TurnContext, clue) -> None:
    mystery = ctx.world.mystery
    if not ctx.state.mystery_noticed:
        ctx.state.mystery_noticed = True
        ctx.say(f"[{mystery.title}] {mystery.intro}")
    ctx.state.clues.append(clue.slug)
    ctx.changed = True
    ctx.say(f"[Clue {len(ctx.state.clues)}/{len(mystery.clues)}] {clue.text}")


def clue_by_examining(ctx: TurnContext, feature_slug: str) -> None:
    mystery = ctx.world.mystery
    if mystery is None or ctx.state.mystery_solved:
        return
    hour = clock.hour_of(ctx.state.minute)
    for clue in mystery.clues:
        if clue.kind != "examine" or clue.slug in ctx.state.clues:
            continue
        if clue.location == ctx.state.location and clue.feature == feature_slug:
            if clue.hours is None or hour in clue.hours:
                _found(ctx, clue)


def clue_by_asking(ctx: TurnContext, npc_slug: str, line: str) -> str | None:
    """The clue an NPC gives when asked the right thing by someone they trust enough."""
    mystery = ctx.world.mystery
    if mystery is None or ctx.state.mystery_solved:
        return None
    lowered = line.lower()
    for clue in mystery.clues:
        if clue.kind != "ask" or clue.npc != npc_slug or clue.slug in ctx.state.clues:
            continue
        if any(k in lowered for k in clue.keywords) and tier_at_least(ctx.tier(npc_slug), clue.min_tier):
            _found(ctx, clue)
            return clue.text
    return None


def _the_mystery(ctx: TurnContext):
    if ctx.world.mystery is None:
        raise Refusal("There's no mystery here that wants solving.")
    return ctx.world.mystery


def handle_clues(ctx: TurnContext, intent: Intent) -> None:
    """What the player has found of the mystery, in the order found ("clues", "journal")."""
    mystery = _the_mystery(ctx)
    found = [clue for slug in ctx.state.clues for clue in mystery.clues if clue.slug == slug]
    if not found:
        ctx.say("You have found nothing yet. Look closely at what seems out of place, and listen to the regulars.")
        return
    if ctx.state.mystery_solved:
        where = "The mystery is solved."
    elif len(found) >= mystery.min_clues:
        where = "Enough to name the thief: 'accuse <someone>'."
    else:
        where = f"{mystery.min_clues - len(found)} more before you could name the thief."
    ctx.say("\n".join([f"[{mystery.title}] Clues found: {len(found)} of {len(mystery.clues)}. {where}",
                        *(f"• {clue.text}" for clue in found)]))


def handle_accuse(ctx: TurnContext, intent: Intent) -> None:
    mystery = _the_mystery(ctx)
    if ctx.state.mystery_solved:
        raise Refusal("That mystery is solved; let it rest.")
    npc = find_npc(ctx.world.npcs.values(), intent.npc)
    if npc is None:
        raise Refusal("Accuse whom? Name someone who drinks at the Tankard.", code="unknown_npc")
    if len(ctx.state.clues) < mystery.min_clues:
        raise Refusal(f"{mystery.not_ready_text} (Clues: {len(ctx.state.clues)} of the {mystery.min_clues} you'd need.)")
    ctx.advance(10)
    if npc.slug != mystery.culprit:
        ctx.adjust_relationship(npc.slug, -10)
        ctx.say(mystery.wrong_text)
        return
    ctx.state.mystery_solved = True
    ctx.state.gold += mystery.reward_gold
    ctx.say(f"{mystery.solved_text} You receive {mystery.reward_gold} gold.")
