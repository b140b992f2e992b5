"""Bounties from the notice board: accept, progress through objectives in order, collect the reward.
In a shared tavern a bounty's reward is paid once: the first player to complete it claims it for the
whole tavern, and the notice comes down for everyone (`TurnContext.claim`)."""
from __future__ import annotations

from npcs.persona import short_name, tier_at_least

from ..world import BountyDef, ObjectiveDef
from .context import Refusal, TurnContext
from .lookup import find_bounty, find_npc
from .parser import Intent

BOARD_LOCATION = "common-room"


def available(ctx: TurnContext) -> list[BountyDef]:
    done = set(ctx.state.completed_bounties)
    return [b for b in ctx.world.bounties.values()
            if b.slug not in done and b.slug not in ctx.state.bounties and not ctx.claimed_by(claim_key(b))]


def claim_key(bounty: BountyDef) -> str:
    return f"bounty:{bounty.slug}"


def current_objective(ctx: TurnContext, bounty: BountyDef) -> ObjectiveDef | None:
    step = ctx.state.bounties.get(bounty.slug, 0)
    return bounty.objectives[step] if step < len(bounty.objectives) else None


def handle_board(ctx: TurnContext, intent: Intent) -> None:
    if ctx.state.location != BOARD_LOCATION:
        raise Refusal("The notice board hangs in the common room.")
    ctx.advance(2)
    offers = available(ctx)
    if not offers:
        ctx.say("The notice board holds nothing new for you today.")
        return
    lines = []
    for b in offers:
        giver = ctx.world.npcs.get(b.giver) if b.giver else None
        gate = "" if not giver or tier_at_least(ctx.tier(giver.slug), b.min_tier) else f" (only for {giver.name}'s {b.min_tier}s)"
        lines.append(f"\u2022 {b.title} — {b.description} Reward: {b.reward_gold} gold.{gate}")
    ctx.say("Pinned to the notice board:\n" + "\n".join(lines) + "\nSay 'accept <title>' to take one on.")


def handle_accept(ctx: TurnContext, intent: Intent) -> None:
    bounty = find_bounty(ctx.world.bounties.values(), intent.target)
    if bounty is None:
        raise Refusal("No bounty by that name is pinned up. Read the notice board ('board').")
    if bounty.slug in ctx.state.completed_bounties:
        raise Refusal(f"You've already seen '{bounty.title}' through.")
    if bounty.slug in ctx.state.bounties:
        raise Refusal(f"You're already on '{bounty.title}'.")
    if claimer := ctx.claimed_by(claim_key(bounty)):
        raise Refusal(f"The notice for '{bounty.title}' is crossed out: {claimer} has already claimed the reward.")
    giver = ctx.world.npcs.get(bounty.giver) if bounty.giver else None
    at_board = ctx.state.location == BOARD_LOCATION
    if not at_board and not (giver and giver.slug in {n.slug for n in ctx.present_npcs()}):
        raise Refusal("Bounties are taken at the notice board in the common room.")
    if giver and not tier_at_least(ctx.tier(giver.slug), bounty.min_tier):
        raise Refusal(f"A note on it says: ask {giver.name} first. {giver.name} would want to know you better ({bounty.min_tier}).")
    ctx.state.bounties[bounty.slug] = 0
    ctx.advance(2)
    first = current_objective(ctx, bounty)
    ctx.say(f"You take down the notice for '{bounty.title}'." + (f" First: {_sentence(first.text)}" if first else ""))
    progress(ctx)


def handle_abandon(ctx: TurnContext, intent: Intent) -> None:
    mine = [ctx.world.bounties[s] for s in ctx.state.bounties if s in ctx.world.bounties]
    bounty = find_bounty(mine, intent.target)
    if bounty is None:
        raise Refusal("You have no bounty by that name.")
    del ctx.state.bounties[bounty.slug]
    ctx.changed = True
    ctx.say(f"You pin the notice for '{bounty.title}' back on the board.")


def _step(ctx: TurnContext, bounty: BountyDef) -> None:
    objective = current_objective(ctx, bounty)
    if objective.kind == "visit":  # being there is doing it: "Lay the poison by the rat holes" is told done
        ctx.say(_done_by_you(objective))
        _spend_carried(ctx, bounty, objective)
    ctx.state.bounties[bounty.slug] += 1
    ctx.changed = True
    nxt = current_objective(ctx, bounty)
    if nxt is None:
        _complete(ctx, bounty)
    else:
        ctx.say(f"[{bounty.title}] Done: {_sentence(objective.text)} Next: {_sentence(nxt.text)}")


def _spend_carried(ctx: TurnContext, bounty: BountyDef, objective: ObjectiveDef) -> None:
    """A visit that follows getting a thing that is used up (the candle set in the landing's sconce)
    uses one up."""
    at = bounty.objectives.index(objective)
    before = bounty.objectives[at - 1] if at > 0 else None
    item = ctx.world.items.get(before.item or "") if before is not None and before.kind == "obtain" else None
    if item is not None and item.consumable and ctx.state.inventory.get(item.slug, 0) > 0:
        ctx.state.take_item(item.slug)


def _complete(ctx: TurnContext, bounty: BountyDef) -> None:
    del ctx.state.bounties[bounty.slug]
    if claimer := ctx.claimed_by(claim_key(bounty)):
        ctx.say(f"[{bounty.title}] Too late: {claimer} has already claimed the reward for this one.")
        return
    ctx.claim(claim_key(bounty))
    ctx.state.completed_bounties.append(bounty.slug)
    ctx.state.gold += bounty.reward_gold
    reward = f"{bounty.reward_gold} gold"
    if bounty.reward_item and bounty.reward_item in ctx.world.items:
        ctx.state.add_item(bounty.reward_item)
        reward += f" and {ctx.world.items[bounty.reward_item].name}"
    ctx.say(f"[{bounty.title}] Complete! {bounty.complete_text} You receive {reward}.")
    if bounty.giver:
        ctx.adjust_relationship(bounty.giver, bounty.reward_relationship)


def progress(ctx: TurnContext) -> None:
    """Advance every accepted bounty whose current objective the state already meets (obtain, visit)."""
    moved = True
    while moved:
        moved = False
        for slug in list(ctx.state.bounties):
            bounty = ctx.world.bounties.get(slug)
            objective = current_objective(ctx, bounty) if bounty else None
            if objective is None:
                continue
            met = (objective.kind == "obtain" and ctx.state.inventory.get(objective.item or "", 0) > 0) or (
                objective.kind == "visit" and ctx.state.location == objective.location
            )
            if met:
                _step(ctx, bounty)
                moved = True


def deliver(ctx: TurnContext, npc_slug: str, item_slug: str) -> bool:
    """Hand an item over for a bounty; True when it was the current objective."""
    for slug in list(ctx.state.bounties):
        bounty = ctx.world.bounties.get(slug)
        objective = current_objective(ctx, bounty) if bounty else None
        if objective and objective.kind == "deliver" and objective.npc == npc_slug and objective.item == item_slug:
            ctx.state.take_item(item_slug)
            ctx.advance(2)
            ctx.say(f"You hand over the {ctx.world.items[item_slug].name}.")
            _step(ctx, bounty)
            return True
    return False


def _reports_to(ctx: TurnContext, npc_slug: str) -> list[BountyDef]:
    """The player's bounties whose current step is a report to this NPC."""
    due = []
    for slug in list(ctx.state.bounties):
        bounty = ctx.world.bounties.get(slug)
        objective = current_objective(ctx, bounty) if bounty else None
        if objective and objective.kind == "report" and objective.npc == npc_slug:
            due.append(bounty)
    return due


def tasks_for(ctx: TurnContext, npc_slug: str) -> tuple[tuple[str, str, str], ...]:
    """(title, next step, whose notice) of each bounty the player holds, its own first: what the NPC
    tells a player who asks what to do. Whose notice is "" for the NPC's own, else what the tavern
    calls its giver. Left out: the NPC's own whose next step is a report to it (`reports_due`), and
    another's whose next step is about the NPC itself (the pie given to the Captain without saying
    who sent it is not the Captain's to tell)."""
    own, others = [], []
    for slug in ctx.state.bounties:
        bounty = ctx.world.bounties.get(slug)
        step = current_objective(ctx, bounty) if bounty is not None else None
        if step is None or (step.npc == npc_slug and (step.kind == "report" or bounty.giver != npc_slug)):
            continue
        if bounty.giver == npc_slug:
            own.append((bounty.title, _sentence(step.text), ""))
        else:
            giver = ctx.world.npcs.get(bounty.giver or "")
            others.append((bounty.title, _sentence(step.text), short_name(giver) if giver else "the board"))
    return tuple(own + others)


def reports_due(ctx: TurnContext, npc_slug: str) -> tuple[str, ...]:
    """The titles of the bounties a word with this NPC reports (their current step is a report to it)."""
    return tuple(bounty.title for bounty in _reports_to(ctx, npc_slug))


def report(ctx: TurnContext, npc_slug: str) -> bool:
    """Report to an NPC for every bounty waiting on that; True when one moved."""
    due = _reports_to(ctx, npc_slug)
    for bounty in due:
        _step(ctx, bounty)
    return bool(due)


def handle_report(ctx: TurnContext, intent: Intent) -> None:
    present = ctx.present_npcs()
    npcs = [find_npc(present, intent.npc)] if intent.npc else present
    for npc in filter(None, npcs):
        if report(ctx, npc.slug):
            ctx.advance(5)
            return
    waiting = [current_objective(ctx, ctx.world.bounties[s]) for s in ctx.state.bounties if s in ctx.world.bounties]
    reports = [o for o in waiting if o and o.kind == "report"]
    if reports:
        who = ctx.world.npcs[reports[0].npc].name if reports[0].npc in ctx.world.npcs else "someone"
        raise Refusal(f"You have news for {who}, and {who} isn't here.")
    raise Refusal("You have nothing to report just now.")


def _sentence(text: str) -> str:
    """An objective's text as a sentence, ended once ("... in the kitchen." not "... in the kitchen..")."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def used_for(ctx: TurnContext, item_slug: str) -> str | None:
    """What using an item does where a bounty of the player's wants it used ("Lay the poison by the
    rat holes in the cellar.": a visit here that follows getting the item), in the second person;
    None elsewhere. The step itself is done by being here (`progress`), so once it is done, using the
    item again says so, and what comes next ("That's done already: ... Next: Report back to Gareth")."""
    for slug, step in ctx.state.bounties.items():
        bounty = ctx.world.bounties.get(slug)
        if bounty is None:
            continue
        for at, (before, objective) in enumerate(zip(bounty.objectives, bounty.objectives[1:]), start=1):
            if (before.kind == "obtain" and before.item == item_slug and objective.kind == "visit"
                    and objective.location == ctx.state.location):
                if at >= step:
                    return _done_by_you(objective)
                nxt = current_objective(ctx, bounty)
                return f"That's done already: {_sentence(objective.text)}" + (f" Next: {_sentence(nxt.text)}" if nxt else "")
    return None


def _done_by_you(objective: ObjectiveDef) -> str:
    """An objective told as the player doing it: "Lay the poison..." -> "You lay the poison..."."""
    return "You " + _sentence(objective.text[:1].lower() + objective.text[1:])
