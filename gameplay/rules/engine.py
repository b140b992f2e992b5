"""One command, start to end: parse, run the rule, let bounties catch up; and what the player's
screen should show afterwards (the state frame and suggestions)."""
from __future__ import annotations

from dataclasses import dataclass

from . import bounties, deeds, economy, emotes, gambling, info, lodging, movement, mystery, talk
from .clock import time_frame
from .context import Refusal, SayRequest, TurnContext
from .parser import Intent, commands_joined, intent_parse

HANDLERS = {
    "help": info.handle_help,
    "look": info.handle_look,
    "who": info.handle_who,
    "examine": info.handle_examine,
    "inventory": info.handle_inventory,
    "status": info.handle_status,
    "time": info.handle_time,
    "rumours": info.handle_rumours,
    "go": movement.handle_go,
    "buy": economy.handle_buy,
    "buy_for": economy.handle_buy_for,
    "use": economy.handle_use,
    "give": economy.handle_give,
    "jobs": economy.handle_jobs,
    "work": economy.handle_work,
    "rent": lodging.handle_rent,
    "sleep": lodging.handle_sleep,
    "wait": lodging.handle_wait,
    "wait_until": lodging.handle_wait_until,
    "chest": lodging.handle_chest,
    "store": lodging.handle_store,
    "retrieve": lodging.handle_retrieve,
    "gamble": gambling.handle_gamble,
    "board": bounties.handle_board,
    "accept": bounties.handle_accept,
    "abandon": bounties.handle_abandon,
    "report": bounties.handle_report,
    "accuse": mystery.handle_accuse,
    "clues": mystery.handle_clues,
    "say": talk.handle_say,
    "whisper": talk.handle_whisper,
    "speak": talk.handle_speak,
    "wares": economy.handle_wares,
    "quit": info.handle_quit,
    "talk": talk.handle_talk,
}


@dataclass(frozen=True)
class CommandOutcome:
    text: str
    changed: bool
    say_request: SayRequest | None = None
    aloud: dict | None = None  # what others standing here see of it (`TurnContext.aloud`)


# The readings a deed may hide in: free text, going ("walk over to wren and slap her" reads as a walk
# to a place called "wren and slap her") and a game of chance ("draw my dagger on the bard" reads as
# high card); never a command that does something of its own ("take my gold from the chest").
DEEDS_READ_IN = frozenset({"unknown", "go", "gamble"})


def command_apply(ctx: TurnContext, text: str) -> CommandOutcome:
    """Apply one command to the context (or the two or three a line joins: "buy ale and drink it");
    raises Refusal when the rules say no to it (to the first of them: a later one refused is said,
    and what came before it stands)."""
    joined = commands_joined(text)
    if joined:
        return _joined_apply(ctx, joined)
    return _command_apply(ctx, text)


def _joined_apply(ctx: TurnContext, commands: list[str]) -> CommandOutcome:
    outcome = _command_apply(ctx, commands[0])
    for command in commands[1:]:
        try:
            outcome = _command_apply(ctx, command)
        except Refusal as refusal:
            ctx.lines.append(refusal.text)
            break
    return CommandOutcome(text="\n".join(ctx.lines), changed=ctx.changed or bool(ctx.changed_minds), aloud=outcome.aloud)


def _command_apply(ctx: TurnContext, text: str) -> CommandOutcome:
    intent = intent_parse(text)
    handler = HANDLERS.get(intent.verb)
    if handler is None and intent.verb == "unknown":  # free text a rule still owns
        if economy.job_named_here(ctx, text):  # "chop wood" in the yard
            intent, handler = Intent("work", target=text), economy.handle_work
        elif wanted := economy.carried_item_wanted_here(ctx, text):  # "lay the poison" in the cellar
            intent, handler = Intent("use", target=wanted.name), economy.handle_use
    deed = deeds.deed_said(ctx, text) if intent.verb in DEEDS_READ_IN else None
    if handler is None or deed is not None:
        said = deed or (emotes.gesture_said(ctx, text) if intent.verb == "unknown" else None)
        if said is None:
            raise Refusal(not_understood(ctx), code="unknown_command")
        ctx.lines.insert(0, said)  # before what it set off ("Gareth Rusk is now wary of you.")
        return CommandOutcome(text="\n".join(ctx.lines), changed=bool(ctx.changed_minds), aloud=ctx.aloud)
    handler(ctx, intent)
    bounties.progress(ctx)
    if ctx.changed:
        ctx.state.turns += 1
    return CommandOutcome(text="\n".join(ctx.lines), changed=ctx.changed or bool(ctx.changed_minds), say_request=ctx.say_request,
                          aloud=ctx.aloud)


def not_understood(ctx: TurnContext) -> str:
    tips = ", ".join(f"'{s}'" for s in [s for s in suggestions(ctx) if s != "help"][:5])
    return f"The words hang in the smoky air; nobody quite follows. You might try {tips}, or 'help'."


def suggestions(ctx: TurnContext) -> list[str]:
    """What can sensibly be done here and now, for the input's suggestion chips."""
    here = ctx.state.location
    out = ["look"]
    present = ctx.present_npcs()
    out += [f"talk to {n.name.split()[0].lower()}" for n in present[:3]]
    if here == bounties.BOARD_LOCATION:
        out += ["board", "rumours"]
    if any(here in i.sold_at for i in ctx.world.items.values()):
        cheapest = min((i for i in ctx.world.items.values() if here in i.sold_at and i.kind == "drink"), key=lambda i: i.price, default=None)
        if cheapest:
            out.append(f"buy {cheapest.aliases[0] if cheapest.aliases else cheapest.name}")
    if economy.jobs_here(ctx):
        out.append("jobs")
    if here == gambling.DEN:
        out += ["dice 5", "flip coin 2 heads"]
    if ctx.has_room and ctx.state.tiredness >= 20:
        out.append("sleep")
    if here == lodging.ROOM_LOCATION:
        out.append("chest")
    loc = ctx.world.locations.get(here)
    if loc:
        out += [f"go to {ctx.world.locations[e].name.lower().removeprefix('the ')}" for e in loc.exits if e in ctx.world.locations][:4]
    out.append("help")
    return list(dict.fromkeys(out))[:12]


def state_frame(ctx: TurnContext, *, game_id: str, version: int) -> dict:
    world, s = ctx.world, ctx.state
    loc = world.locations.get(s.location)
    here_exits = [{"slug": e, "name": world.locations[e].name} for e in (loc.exits if loc else ()) if e in world.locations]
    active = []
    for slug, step in s.bounties.items():
        b = world.bounties.get(slug)
        if b:
            obj = b.objectives[step].text if step < len(b.objectives) else ""
            active.append({"slug": slug, "title": b.title, "objective": obj, "done": step, "total": len(b.objectives)})
    return {
        "type": "state",
        "session": game_id,
        "version": version,
        "time": time_frame(s.minute),
        "location": {"slug": s.location, "name": loc.name if loc else s.location, "description": loc.description if loc else "", "exits": here_exits},
        "player": {
            "gold": s.gold, "tiredness": s.tiredness, "tiredness_label": info.tiredness_label(s.tiredness),
            "hunger": s.hunger, "hunger_label": info.hunger_label(s.hunger),
            "room": lodging.ROOM_LOCATION if ctx.has_room else None, "name": s.player_name,
            "clues": len(s.clues), "clues_total": len(world.mystery.clues) if world.mystery else 0,
            "mystery_solved": s.mystery_solved, "chest_gold": s.chest_gold,
        },
        "inventory": [{"slug": k, "name": world.items[k].name if k in world.items else k, "qty": q} for k, q in sorted(s.inventory.items())],
        "chest": [{"slug": k, "name": world.items[k].name if k in world.items else k, "qty": q} for k, q in sorted(s.chest.items())],
        "npcs": [
            {"slug": n.slug, "name": n.name, "role": n.role, "mood": ctx.mind(n.slug).mood, "tier": ctx.tier(n.slug)}
            for n in ctx.present_npcs()
        ],
        "bounties": active,
        "map": [
            {"slug": l.slug, "name": l.name, "exits": list(l.exits), "here": l.slug == s.location}
            for l in world.locations.values()
        ],
        "suggestions": suggestions(ctx),
    }
