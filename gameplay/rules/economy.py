"""Money and goods: buying, drinking and eating, gifts, and honest work."""
from __future__ import annotations

import re

from npcs.persona import short_name, tier_at_least

from . import bounties
from .talk import not_here
from .context import Refusal, TurnContext
from .info import tiredness_label
from .lookup import find_item, find_job, find_npc, item_name, listed, with_article
from .parser import Intent, words_match

WORK_TIREDNESS_LIMIT = 85
WORK_HUNGER_LIMIT = 90


def for_sale_here(ctx: TurnContext):
    present = {n.slug for n in ctx.present_npcs()}
    return [
        i for i in ctx.world.items.values()
        if ctx.state.location in i.sold_at and (i.seller is None or i.seller in present)
    ]


MOST_AT_ONCE = 20  # of one thing in one purchase: more is refused, never quietly cut down


def price_list(ctx: TurnContext, kind: str | None = None) -> str:
    """What is sold here, with prices ("mug of ale (3g), ..."); `kind`: only those of that kind."""
    wares = sorted(for_sale_here(ctx), key=lambda i: (i.kind, i.price))
    return ", ".join(f"{i.name} ({i.price}g)" for i in wares if i.slug != "room-key" and kind in (None, i.kind))


# A kind of thing, not a thing: "buy a drink" asks what there is.
_KINDS = {"drink": "drink", "drinks": "drink", "something drink": "drink", "beverage": "drink",
          "food": "food", "something eat": "food", "meal": "food", "bite eat": "food", "bite": "food"}  # as strip_filler leaves them


def handle_wares(ctx: TurnContext, intent: Intent) -> None:
    """What is sold here, with prices ("menu", "what can I buy"), or where things are sold."""
    wares = price_list(ctx)
    if wares:
        ctx.say(f"On offer here: {wares}. Say 'buy <item>'.")
        return
    where = sorted({ctx.world.locations[s].name for i in ctx.world.items.values() for s in i.sold_at if s in ctx.world.locations})
    raise Refusal(f"Nothing is sold here. Try {', '.join(where)}." if where else "Nothing is sold here.")


def _buy(ctx: TurnContext, words: str, qty: int, *, treat: str | None = None) -> tuple:
    """`treat`: the NPC it is bought for (a seller who counts the player hostile still takes that)."""
    item = find_item(ctx.world, words)
    kind = _KINDS.get(words.strip())
    if item is None and kind is not None:  # "buy a drink": which?
        choice = price_list(ctx, kind)
        raise Refusal(f"Which {kind}? {'On offer: ' + choice + '.' if choice else 'None is sold here.'} Say 'buy <item>'.")
    if item is None:
        wares = price_list(ctx)
        raise Refusal(f"Nobody here sells that. {'On offer: ' + wares + '.' if wares else 'Nothing is on sale here.'}")
    if item.slug == "room-key":
        from .lodging import handle_rent

        handle_rent(ctx, Intent("rent"))
        return item, 0
    if item not in for_sale_here(ctx):
        seller = ctx.world.npcs.get(item.seller) if item.seller else None
        if item.sold_at and seller and ctx.state.location in item.sold_at:
            raise Refusal(f"{seller.name} sells the {item.name}, and {seller.name} isn't here right now.")
        where = ", ".join(ctx.world.locations[s].name for s in sorted(item.sold_at) if s in ctx.world.locations)
        raise Refusal(f"You can't buy {item.name} here." + (f" Try {where}." if where else " It isn't for sale."))
    seller = ctx.world.npcs.get(item.seller) if item.seller else None
    if seller is not None and ctx.tier(seller.slug) == "hostile" and treat != seller.slug:  # after blows (rules/deeds.py)
        first = short_name(seller)
        raise Refusal(f"{seller.name} won't serve you, not after what you did. A drink bought for {first} "
                      f"might mend it: 'buy ale for {first.lower()}'.")
    if qty > MOST_AT_ONCE:
        who = short_name(seller) if seller is not None else "Nobody"
        raise Refusal(f"{who} won't sell more than {MOST_AT_ONCE} at a time. Ask for fewer.")
    cost = item.price * qty
    if ctx.state.gold < cost:
        raise Refusal(f"{item_name(ctx.world, item.slug, qty).capitalize()} costs {cost} gold and you have only {ctx.state.gold}.")
    ctx.state.gold -= cost
    ctx.state.add_item(item.slug, qty)
    ctx.advance(5)
    return item, cost


def handle_buy(ctx: TurnContext, intent: Intent) -> None:
    item, cost = _buy(ctx, intent.target, intent.qty)
    if cost:
        ctx.say(f"You pay {cost} gold for {with_article(item_name(ctx.world, item.slug, intent.qty))}. You have {ctx.state.gold} gold left.")


def handle_buy_for(ctx: TurnContext, intent: Intent) -> None:
    npc = find_npc(ctx.present_npcs(), intent.npc)
    if npc is None:
        patron = next((p for p in ctx.present_patrons() if p.lower() == intent.npc.lower()), None)
        if patron is not None:  # another player: their purse, their tab
            folk = ctx.present_npcs()
            treated = short_name(folk[0]).lower() if folk else "amos"
            raise Refusal(f"{patron} keeps their own tab: here every traveller buys their own. You can stand a drink for "
                          f"the tavern's folk ('buy ale for {treated}').")
        raise _nobody_here(ctx, intent.npc, "to treat")
    item, cost = _buy(ctx, intent.target, 1, treat=npc.slug)
    if not cost:
        return
    ctx.state.take_item(item.slug)
    treat = item.kind in {"drink", "food"}
    ctx.say(f"You pay {cost} gold and {'set' if treat else 'hand'} {with_article(item.name)} "
            f"{'before' if treat else 'to'} {npc.name}.")
    ctx.adjust_relationship(npc.slug, 5 if treat else 3)
    ctx.set_mood(npc.slug, "cheerful")
    thanks = {"drink": "raises it to you with a grin", "food": "tucks in with a grin"}.get(item.kind, "takes it with a nod of thanks")
    ctx.say(f"{npc.name} {thanks}.")


def handle_use(ctx: TurnContext, intent: Intent) -> None:
    if not intent.target and intent.extra:  # "drink", "eat": what is carried of that kind
        return handle_use(ctx, Intent("use", target=_carried_to(ctx, intent.extra)))
    item = find_item(ctx.world, intent.target, among=list(ctx.state.inventory))
    if item is None:
        raise Refusal("You don't have that. Buy it first, or check your inventory.")
    if not item.consumable:
        ctx.say(bounties.used_for(ctx, item.slug) or item.use_text or f"You turn the {item.name} over in your hands. {item.description}")
        return
    ctx.state.take_item(item.slug)
    effects = item.effects
    ctx.state.tiredness = max(0, min(100, ctx.state.tiredness + int(effects.get("tiredness", 0))))
    ctx.state.hunger = max(0, min(100, ctx.state.hunger + int(effects.get("hunger", 0))))
    ctx.advance(10 if item.kind == "food" else 5)
    verb = {"drink": "drink", "food": "eat"}.get(item.kind, "use")
    ctx.say(item.use_text or f"You {verb} the {item.name}.")


def _carried_to(ctx: TurnContext, verb: str) -> str:
    """The name of the one thing carried to drink (or eat); else a refusal saying what there is to do."""
    kind = "food" if verb == "eat" else "drink"
    carried = [ctx.world.items[s] for s in ctx.state.inventory if s in ctx.world.items and ctx.world.items[s].kind == kind]
    if len(carried) == 1:
        return carried[0].name
    if carried:
        raise Refusal(f"{verb.capitalize()} which? You have {listed([with_article(i.name) for i in carried], ' and ')}.")
    sold = [i for i in for_sale_here(ctx) if i.kind == kind]
    raise Refusal(f"You have nothing to {verb}." + (f" On offer here: {price_list(ctx, kind)}. Say 'buy <item>'." if sold
                                                    else " Nothing of the kind is sold here."))


def handle_give(ctx: TurnContext, intent: Intent) -> None:
    from .bounties import deliver

    npc = find_npc(ctx.present_npcs(), intent.npc)
    if npc is None:
        raise _nobody_here(ctx, intent.npc)
    if intent.target == "gold":
        return _give_gold(ctx, npc, intent.amount)
    item = find_item(ctx.world, intent.target, among=list(ctx.state.inventory))
    if item is None:
        raise Refusal("You don't have that to give.")
    if deliver(ctx, npc.slug, item.slug):
        return
    ctx.state.take_item(item.slug)
    ctx.advance(2)
    ctx.say(f"You give {item.name} to {npc.name}, who accepts it with a nod.")
    _gift_liked(ctx, npc, item.price)


def _give_gold(ctx: TurnContext, npc, amount: int | None) -> None:
    """Gold handed over ("give 2 gold to Tobias", "tip Tobias 3 gold"; None: all of it; 0: no figure
    said, so how much is asked): liked as a gift of that price would be."""
    if ctx.state.gold == 0:
        raise Refusal("Your purse is empty.")
    amount = ctx.state.gold if amount is None else amount
    if amount <= 0:
        raise Refusal(f"How much? Say 'give 2 gold to {short_name(npc).lower()}'.")
    if amount > ctx.state.gold:
        raise Refusal(f"You have only {ctx.state.gold} gold.")
    ctx.state.gold -= amount
    ctx.advance(2)
    ctx.say(f"You give {amount} gold to {npc.name}, who pockets it with a nod. You have {ctx.state.gold} gold left.")
    _gift_liked(ctx, npc, amount)


def _gift_liked(ctx: TurnContext, npc, worth: int) -> None:
    """A gift worth `worth` gold (a thing's price, or the gold itself) warms the NPC to the giver."""
    ctx.adjust_relationship(npc.slug, max(1, min(10, worth // 2 + 1)))
    ctx.set_mood(npc.slug, "cheerful")


def jobs_here(ctx: TurnContext):
    return [j for j in ctx.world.jobs.values() if j.location == ctx.state.location]


def job_named_here(ctx: TurnContext, words: str):
    """The job to be had here that the words name outright ("chop wood", "sweep the floor"), or None."""
    return next((j for j in jobs_here(ctx) if words_match(words, j.name, *j.aliases, strict=True)), None)


def carried_item_wanted_here(ctx: TurnContext, text: str):
    """An item the player carries that a bounty of theirs wants used here, when the words name it
    ("put down the poison") or what the bounty says to do with it ("kill the rats": "Lay the poison
    by the rat holes"), else None."""
    words = re.findall(r"[a-z]+", text.lower())
    line = f" {' '.join(words)} "
    for slug in ctx.state.inventory:
        item = ctx.world.items.get(slug)
        done = bounties.used_for(ctx, slug) if item else None
        if done is None:
            continue
        named = any(f" {name.lower()} " in line for name in (item.name, *item.aliases))
        said = {w for w in re.findall(r"[a-z]+", done.lower()) if len(w) > 2} - _PLAIN - set(ctx.state.location.split("-"))
        if named or said & ({w.removesuffix("s") for w in words} | set(words)):
            return item
    return None


_PLAIN = frozenset("you the and with for from into onto over under by your his her their them".split())


def handle_jobs(ctx: TurnContext, intent: Intent) -> None:
    jobs = jobs_here(ctx)
    if not jobs:
        elsewhere = sorted({ctx.world.locations[j.location].name for j in ctx.world.jobs.values() if j.location in ctx.world.locations})
        raise Refusal("There's no work to be had here. Ask about in " + ", ".join(elsewhere) + ".")
    ctx.say("Work to be had here: " + "; ".join(f"{j.name} — {j.pay} gold, {j.minutes} minutes" for j in jobs) + ". Say 'work <job>'.")


def handle_work(ctx: TurnContext, intent: Intent) -> None:
    jobs = jobs_here(ctx)
    job = find_job(jobs, intent.target) if intent.target else (jobs[0] if len(jobs) == 1 else None)
    if job is None:
        if intent.target and find_job(ctx.world.jobs.values(), intent.target):
            other = find_job(ctx.world.jobs.values(), intent.target)
            raise Refusal(f"That work is done in {ctx.world.locations[other.location].name}, not here.")
        handle_jobs(ctx, intent)
        return
    if job.giver:
        giver = ctx.world.npcs.get(job.giver)
        if giver and giver.slug not in {n.slug for n in ctx.present_npcs()}:
            raise Refusal(f"{giver.name} hands out that work, and {giver.name} isn't here to say yes.")
        if giver and not tier_at_least(ctx.tier(giver.slug), job.min_tier):
            raise Refusal(f"{giver.name} doesn't know you well enough to trust you with that yet.")
    if ctx.state.tiredness >= WORK_TIREDNESS_LIMIT:
        raise Refusal(f"You're {tiredness_label(ctx.state.tiredness)}; you'd drop the first thing you picked up. Sleep first.")
    if ctx.state.hunger >= WORK_HUNGER_LIMIT:
        raise Refusal("Your stomach growls so loud the cook looks over. Eat something first.")
    ctx.state.gold += job.pay
    ctx.advance(job.minutes)
    ctx.state.tiredness = min(100, ctx.state.tiredness + job.tiredness)
    ctx.say((job.work_text or f"You {job.name}.") + f" You earn {job.pay} gold (now {ctx.state.gold}).")
    if job.giver:
        ctx.adjust_relationship(job.giver, 1)


def _nobody_here(ctx: TurnContext, words: str, purpose: str = "") -> Refusal:
    """Why there is nobody here by that name: someone the tavern knows, who is elsewhere, or nobody."""
    npc = find_npc(ctx.world.npcs.values(), words)
    if npc is not None:
        return not_here(ctx, npc)
    return Refusal(f"There's nobody here by that name{' ' + purpose if purpose else ''}.", code="npc_absent")
