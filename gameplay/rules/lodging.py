"""A room for the night: renting, sleeping, waiting, and the chest in the room."""
from __future__ import annotations

from . import clock
from .context import Refusal, TurnContext
from .lookup import find_item, item_name, listed
from .parser import Intent

WAKE_HOUR = 7
CHECKOUT_HOUR = 12
MAX_WAIT_BELLS = 12
ROOM_LOCATION = "guest-room"
PART_HOURS = {"morning": 6, "dawn": 6, "noon": 12, "midday": 12, "afternoon": 12, "evening": 18, "dusk": 18, "night": 22, "midnight": 0}


def handle_rent(ctx: TurnContext, intent: Intent) -> None:
    key = ctx.world.items.get("room-key")
    if key is None:
        raise Refusal("There are no rooms to let just now.")
    if ctx.has_room and not intent.extra:
        raise Refusal(f"You already have a room; the key is in your pocket, and it is yours until {until_said(ctx)}. "
                      "('rent another night' keeps it a night longer.)")
    present = {n.slug for n in ctx.present_npcs()}
    if ctx.state.location not in key.sold_at or (key.seller and key.seller not in present):
        seller = ctx.world.npcs.get(key.seller) if key.seller else None
        raise Refusal(f"Rooms are let at the bar{' by ' + seller.name if seller else ''}.")
    if ctx.state.gold < key.price:
        raise Refusal(f"A room costs {key.price} gold a night and you have {ctx.state.gold}.")
    if ctx.has_room:  # another night: the same key, a day longer
        ctx.state.gold -= key.price
        ctx.state.room_until += clock.MINUTES_PER_DAY
        ctx.advance(2)
        ctx.say(f"You pay {key.price} gold for another night. The room is yours until {until_said(ctx)}. "
                f"You have {ctx.state.gold} gold left.")
        return
    ctx.state.gold -= key.price
    ctx.state.add_item("room-key")
    ctx.state.room_until = clock.minute_of(clock.day_of(ctx.state.minute) + 1, CHECKOUT_HOUR)
    ctx.advance(5)
    ctx.say(f"You pay {key.price} gold and get the room key. The room is yours until noon tomorrow; "
            "there's a bed and a stout chest. You have {0} gold left.".format(ctx.state.gold))


def until_said(ctx: TurnContext) -> str:
    """When the player's room is theirs until, said as the game says a time ("noon on Ironday")."""
    frame = clock.time_frame(ctx.state.room_until)
    hour = "noon" if frame["hour"] == 12 else frame["bell"]
    return f"{hour} on {frame['day_name']}"


def handle_sleep(ctx: TurnContext, intent: Intent) -> None:
    if not ctx.has_room:
        raise Refusal("You'd need a room to sleep in: Gareth rents them at the bar ('rent a room').")
    if ctx.state.tiredness < 20:
        raise Refusal("You're not tired enough to sleep. Try 'wait' instead.")
    if ctx.state.location != ROOM_LOCATION and ROOM_LOCATION in ctx.world.locations:
        ctx.state.location = ROOM_LOCATION
        ctx.say("You climb the stairs to your room.")
    wake = clock.next_time_at(ctx.state.minute, WAKE_HOUR)
    ctx.advance(wake - ctx.state.minute, asleep=True)
    ctx.state.tiredness = 0
    ctx.say("You sleep soundly and wake at the first bell of morning, rested.")


def handle_wait(ctx: TurnContext, intent: Intent) -> None:
    bells = max(1, min(intent.amount or 1, MAX_WAIT_BELLS))
    ctx.advance(bells * 60)
    ctx.say(f"You wait {'a bell' if bells == 1 else str(bells) + ' bells'}. " + _time_now(ctx))


def handle_wait_until(ctx: TurnContext, intent: Intent) -> None:
    words = intent.target.split()
    hour = next((PART_HOURS[w] for w in words if w in PART_HOURS), None)
    if hour is None:
        raise Refusal("Wait until when? Morning, noon, evening or night.")
    until = clock.next_time_at(ctx.state.minute, hour)
    if until - ctx.state.minute > MAX_WAIT_BELLS * 60:
        how = ("Sleep ('sleep'), and wait on from the morning." if ctx.has_room else
               "Rent a room and sleep ('rent a room', then 'sleep'), or wait a few bells at a time ('wait 6').")
        raise Refusal(f"That's a long while to sit on a bench. {how}")
    ctx.advance(until - ctx.state.minute)
    ctx.say("You while away the time. " + _time_now(ctx))


def _time_now(ctx: TurnContext) -> str:
    t = clock.time_frame(ctx.state.minute)
    return f"It is now the {t['bell']}."


def _at_chest(ctx: TurnContext) -> None:
    if not ctx.has_room:
        raise Refusal("You have no room, and so no chest.")
    if ctx.state.location != ROOM_LOCATION:
        raise Refusal("Your chest is in your room upstairs.")


def handle_chest(ctx: TurnContext, intent: Intent) -> None:
    _at_chest(ctx)
    inside = [item_name(ctx.world, s, q) for s, q in sorted(ctx.state.chest.items())]
    if ctx.state.chest_gold:
        inside.insert(0, f"{ctx.state.chest_gold} gold")
    ctx.say(f"Your chest holds {listed(inside) if inside else 'nothing'}.")


def _gold_moved(ctx: TurnContext, amount: int | None, *, into_chest: bool) -> None:
    """Move `amount` of gold (None: all there is) between the purse and the chest."""
    state = ctx.state
    have = state.gold if into_chest else state.chest_gold
    if have <= 0:
        raise Refusal("Your purse is empty; there's no gold to put away." if into_chest else "There's no gold in your chest.")
    if amount is not None and amount > have:
        raise Refusal(f"You only have {have} gold on you." if into_chest else f"Your chest holds only {have} gold.")
    if amount is not None and amount <= 0:
        raise Refusal("You move no gold at all, with great care.")
    amount = have if amount is None else amount
    step = amount if into_chest else -amount
    state.gold, state.chest_gold = state.gold - step, state.chest_gold + step
    ctx.advance(1)
    if into_chest:
        ctx.say(f"You count {amount} gold into the chest and close the lid. "
                f"The chest holds {state.chest_gold} gold; you keep {state.gold} on you.")
    else:
        left = f"{state.chest_gold} gold stays in the chest" if state.chest_gold else "the chest holds no gold now"
        ctx.say(f"You take {amount} gold from the chest; {left}. You have {state.gold} gold on you.")


def handle_store(ctx: TurnContext, intent: Intent) -> None:
    _at_chest(ctx)
    if intent.target == "gold":
        _gold_moved(ctx, intent.amount, into_chest=True)
        return
    item = find_item(ctx.world, intent.target, among=list(ctx.state.inventory))
    if item is None:
        raise Refusal("You don't carry that.")
    if item.slug == "room-key":
        raise Refusal("Lock the key inside the chest? Better not.")
    qty = min(intent.qty, ctx.state.inventory.get(item.slug, 0))
    ctx.state.take_item(item.slug, qty)
    ctx.state.add_item(item.slug, qty, to_chest=True)
    ctx.advance(1)
    ctx.say(f"You put {item_name(ctx.world, item.slug, qty)} in the chest and close the lid.")


def handle_retrieve(ctx: TurnContext, intent: Intent) -> None:
    _at_chest(ctx)
    if intent.target == "gold":
        _gold_moved(ctx, intent.amount, into_chest=False)
        return
    item = find_item(ctx.world, intent.target, among=list(ctx.state.chest))
    if item is None:
        raise Refusal("There's no such thing in your chest.")
    qty = min(intent.qty, ctx.state.chest.get(item.slug, 0))
    ctx.state.take_item(item.slug, qty, from_chest=True)
    ctx.state.add_item(item.slug, qty)
    ctx.advance(1)
    ctx.say(f"You take {item_name(ctx.world, item.slug, qty)} from the chest.")
