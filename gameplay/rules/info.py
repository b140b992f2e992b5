"""Rules that only tell: look, who is here, examine, inventory, status, time, help, rumours."""
from __future__ import annotations

from npcs.persona import relationship_tier

from . import clock
from .context import Refusal, TurnContext
from .lodging import until_said
from .lookup import find_feature, find_item, find_location, find_npc, item_name
from .parser import Intent

HELP = (
    "Here's what folk do at the Rusted Tankard: look, who (is here), examine <thing>, go <place>, inventory, status, time; "
    "menu (what is sold here), buy <item> (or 'buy ale for <someone>'), drink/eat/use <item>, give <item or gold> to <someone>; "
    "jobs, work <job>; gamble (dice, coin or high card, e.g. 'dice 5', 'flip coin 3 heads', 'high card 4'); "
    "rent a room, sleep, wait [bells], store <item or gold>, retrieve <item or gold>, chest; "
    "board, accept <bounty>, report to <someone>; rumours; talk to <someone>, or @gareth <words> to speak, say <words> to the room; "
    "clues (what you have found); and, when you know enough, accuse <someone>. "
    "Two things at once work too: 'buy ale and drink it'."
)


SHARED_HELP = ("In this shared tavern everyone standing with you hears what you say aloud. "
               "'whisper gareth <words>' is for Gareth's ears only; 'name <a name>' chooses what folk here call you.")


def handle_help(ctx: TurnContext, intent: Intent) -> None:
    ctx.say(HELP)
    if ctx.shared is not None:
        ctx.say(SHARED_HELP)


def describe_here(ctx: TurnContext) -> str:
    loc = ctx.world.locations[ctx.state.location]
    parts = [f"{loc.name}. {loc.description}"]
    if loc.features:
        parts.append("You notice " + ", ".join(f.name for f in loc.features) + ".")
    parts.append(who_here(ctx))
    exits = [ctx.world.locations[e].name for e in loc.exits if e in ctx.world.locations]
    if exits:
        parts.append("From here you can go to " + ", ".join(exits) + ".")
    return " ".join(parts)


def who_here(ctx: TurnContext) -> str:
    """Who stands here: the NPCs, and in a shared tavern the other players."""
    people = [f"{n.name} the {n.role}" for n in ctx.present_npcs()]
    people += [f"{name}, a traveller like you" for name in ctx.present_patrons()]
    if not people:
        return "Nobody else is here just now."
    return "Here: " + ", ".join(people) + "."


def handle_quit(ctx: TurnContext, intent: Intent) -> None:
    ctx.say("There's no need to say goodbye to the Tankard: close the page whenever you like. Your game is kept "
            "as it stands, and the door opens on it again when you come back.")


def handle_who(ctx: TurnContext, intent: Intent) -> None:
    ctx.say(who_here(ctx))


def handle_look(ctx: TurnContext, intent: Intent) -> None:
    ctx.say(describe_here(ctx))


def handle_examine(ctx: TurnContext, intent: Intent) -> None:
    from . import mystery  # clues hide in features

    loc = ctx.world.locations[ctx.state.location]
    feature = find_feature(loc, intent.target)
    if feature:
        ctx.advance(2)
        ctx.say(feature.description)
        mystery.clue_by_examining(ctx, feature.slug)
        return
    item = find_item(ctx.world, intent.target, among=list(ctx.state.inventory))
    if item:
        ctx.say(f"{item.name.capitalize()}: {item.description}")
        return
    npc = find_npc(ctx.present_npcs(), intent.target)
    if npc:
        mind = ctx.mind(npc.slug)
        ctx.say(f"{npc.name}, the {npc.role}. {npc.appearance} They seem {mind.mood}.")
        return
    if intent.target in {"room", "here", "around", "place"} or _names_here(ctx, intent.target):
        ctx.say(describe_here(ctx))
        return
    names = ", ".join(f.name for f in loc.features) or "nothing in particular"
    raise Refusal(f"You look for that but find nothing of the sort. Here you could examine {names}.")


def _names_here(ctx: TurnContext, words: str) -> bool:
    found = find_location(ctx.world, words)
    return bool(found and found.slug == ctx.state.location)


def handle_inventory(ctx: TurnContext, intent: Intent) -> None:
    inv = ctx.state.inventory
    things = ", ".join(item_name(ctx.world, s, q) for s, q in sorted(inv.items())) if inv else "nothing but lint"
    ctx.say(f"You carry {things}, and your purse holds {ctx.state.gold} gold.")


def tiredness_label(tiredness: int) -> str:
    for limit, label in ((20, "fresh"), (45, "a little weary"), (70, "tired"), (85, "very tired")):
        if tiredness < limit:
            return label
    return "exhausted"


def hunger_label(hunger: int) -> str:
    for limit, label in ((25, "well fed"), (55, "peckish"), (80, "hungry")):
        if hunger < limit:
            return label
    return "starving"


def handle_status(ctx: TurnContext, intent: Intent) -> None:
    s = ctx.state
    room = f"You have a room upstairs until {until_said(ctx)}." if ctx.has_room else "You have no room for the night."
    known = [f"{ctx.world.npcs[slug].name}: {relationship_tier(m.relationship)}" for slug, m in sorted(ctx.minds.items()) if m.relationship and slug in ctx.world.npcs]
    standing = f" Standing — {', '.join(known)}." if known else ""
    ctx.say(
        f"Gold: {s.gold}{f' (and {s.chest_gold} in your chest)' if s.chest_gold else ''}. You feel {tiredness_label(s.tiredness)} and {hunger_label(s.hunger)}. {room} "
        f"Bounties done: {len(s.completed_bounties)}. Clues found: {len(s.clues)}.{standing}"
    )


def handle_time(ctx: TurnContext, intent: Intent) -> None:
    t = clock.time_frame(ctx.state.minute)
    ctx.say(f"It is the {t['bell']} on {t['day_name']}, in {t['season']}.")


def todays_rumours(ctx: TurnContext):
    day = clock.day_of(ctx.state.minute) % 7
    return [r for r in ctx.world.rumours if r.days is None or day in r.days]


def handle_rumours(ctx: TurnContext, intent: Intent) -> None:
    people = ctx.present_npcs()
    if not people and ctx.state.location != ctx.world.config.start_location:
        raise Refusal("There's nobody here to gossip with. Rumours live where the ale flows.")
    rumours = todays_rumours(ctx)
    fresh = [r for r in rumours if r.slug not in ctx.state.rumours_heard] or rumours
    if not fresh:
        raise Refusal("The talk today is only of the weather.")
    picked = ctx.rng.sample(fresh, k=min(2, len(fresh)))
    ctx.advance(10)
    for rumour in picked:
        ctx.state.hear_rumour(rumour.slug)
        source = ctx.world.npcs.get(rumour.source) if rumour.source else None
        who = f"{source.name} mutters" if source else "You overhear"
        ctx.say(f"{who}: \u201c{rumour.text}\u201d")
