"""The LLM proposes, the rules decide: game actions an NPC's reply proposed, validated against the
rules before anything changes. Invalid proposals are dropped and logged; the player sees only the
story."""
from __future__ import annotations

import logging

from llm.actions import ProposedAction
from npcs.persona import tier_at_least

from . import clock
from .context import TurnContext
from .info import todays_rumours

logger = logging.getLogger(__name__)
MAX_RELATIONSHIP_STEP = 3
MAX_GIFT_PRICE = 5


def proposal_apply(ctx: TurnContext, npc_slug: str, action: ProposedAction) -> bool:
    handler = {
        "give_item": _give_item, "relationship": _relationship, "offer_job": _offer_job,
        "offer_bounty": _offer_bounty, "reveal_rumour": _reveal_rumour,
    }.get(action.name)
    ok = bool(handler and handler(ctx, npc_slug, action))
    if not ok:
        logger.info("dropped proposal %s %s %s from %s", action.name, action.slug, action.amount, npc_slug)
    return ok


def _give_item(ctx: TurnContext, npc_slug: str, action: ProposedAction) -> bool:
    item = ctx.world.items.get(action.slug or "")
    mind = ctx.mind(npc_slug)
    today = clock.day_of(ctx.state.minute)
    if item is None or item.price > MAX_GIFT_PRICE or item.seller != npc_slug:
        return False
    if not tier_at_least(ctx.tier(npc_slug), "friend") or mind.flags.get("gift_day") == today:
        return False
    mind.flags["gift_day"] = today
    ctx.changed_minds.add(npc_slug)
    ctx.state.add_item(item.slug)
    ctx.changed = True
    ctx.say(f"{ctx.world.npcs[npc_slug].name} hands you {item.name}, on the house.")
    return True


def _relationship(ctx: TurnContext, npc_slug: str, action: ProposedAction) -> bool:
    delta = max(-MAX_RELATIONSHIP_STEP, min(MAX_RELATIONSHIP_STEP, action.amount or 0))
    if not delta:
        return False
    ctx.adjust_relationship(npc_slug, delta)
    return True


def _offer_job(ctx: TurnContext, npc_slug: str, action: ProposedAction) -> bool:
    job = ctx.world.jobs.get(action.slug or "")
    if job is None or job.giver not in (None, npc_slug) or not tier_at_least(ctx.tier(npc_slug), job.min_tier):
        return False
    where = ctx.world.locations[job.location].name
    ctx.say(f"(Work on offer: {job.name} in {where}, {job.pay} gold — say 'work {job.name}' there.)")
    return True


def _offer_bounty(ctx: TurnContext, npc_slug: str, action: ProposedAction) -> bool:
    bounty = ctx.world.bounties.get(action.slug or "")
    if bounty is None or bounty.slug in ctx.state.completed_bounties or bounty.slug in ctx.state.bounties:
        return False
    if bounty.giver != npc_slug or not tier_at_least(ctx.tier(npc_slug), bounty.min_tier):
        return False
    ctx.say(f"(A bounty: '{bounty.title}' — say 'accept {bounty.title.lower()}' to take it on.)")
    return True


def _reveal_rumour(ctx: TurnContext, npc_slug: str, action: ProposedAction) -> bool:
    rumour = next((r for r in todays_rumours(ctx) if r.slug == action.slug), None)
    if rumour is None or rumour.slug in ctx.state.rumours_heard:
        return False
    ctx.state.hear_rumour(rumour.slug)
    ctx.changed = True
    return True
