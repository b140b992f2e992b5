"""Speech to NPCs, as far as the rules go: who can be spoken to, and what a conversation changes
(standing, clues, bounty reports). What the NPC says comes from the persona or the LLM elsewhere."""
from __future__ import annotations

from npcs.persona import NpcDef, npc_location_at, short_name

from . import bounties, clock, mystery
from .context import Refusal, SayRequest, TurnContext
from ..world import LocationDef
from .lookup import find_npc, place_in
from .parser import Intent

MINUTES_PER_EXCHANGE = 5
DAILY_TALK_BONUS = 2


def npc_to_address(ctx: TurnContext, words: str) -> NpcDef:
    npc = ctx.world.npcs.get(words) or find_npc(ctx.world.npcs.values(), words)
    if npc is None:
        raise Refusal("You look around, but nobody here answers to that name.", code="unknown_npc")
    if npc.slug not in {n.slug for n in ctx.present_npcs()}:
        raise not_here(ctx, npc)
    return npc


def not_here(ctx: TurnContext, npc: NpcDef) -> Refusal:
    """The refusal for someone the tavern knows who is elsewhere now, and where to find them: the
    room they are in, or when they are next about."""
    place, back = whereabouts(ctx.world, npc, ctx.state.minute)
    if place is not None:
        found = f" You'd find {short_name(npc)} {place_in(place.name)}."
    else:
        found = f" {short_name(npc)} is out, due back at the {back}." if back else ""
    return Refusal(f"{npc.name} isn't here just now.{found}", code="npc_absent")


def whereabouts(world, npc: NpcDef, minute: int) -> tuple[LocationDef | None, str]:
    """Where the NPC's schedule has them at `minute` (a room of the world, or None: out), and when
    out, when they are next about ("first bell of afternoon"; "" if not within a week)."""
    where = npc_location_at(npc, day=clock.day_of(minute), hour=clock.hour_of(minute))
    place = world.locations.get(where) if where else None
    if place is not None:
        return place, ""
    back = next_seen(npc, minute)
    return None, bell_said(back, minute) if back is not None else ""


def next_seen(npc: NpcDef, now: int, *, where: str | None = None) -> int | None:
    """The first hour after the minute `now`, within a week, that the NPC's schedule puts them in
    `where` (None: anywhere in the tavern), or None."""
    start = clock.minute_of(clock.day_of(now), clock.hour_of(now))
    for step in range(1, 7 * 24 + 1):
        at = start + step * 60
        found = npc_location_at(npc, day=clock.day_of(at), hour=clock.hour_of(at))
        if found is not None and where in (None, found):
            return at
    return None


def bell_said(at: int, now: int) -> str:
    """The minute `at` as said on the minute `now`: "fifth bell of afternoon", "... on Ironday"."""
    t = clock.time_frame(at)
    return t["bell"] + ("" if clock.day_of(at) == clock.day_of(now) else f" on {t['day_name']}")


def handle_say(ctx: TurnContext, intent: Intent) -> None:
    npc = npc_to_address(ctx, intent.npc)
    ctx.say_request = SayRequest(npc=npc.slug, text=intent.target or "Hello.")


MAX_SAID = 300  # characters of words said to the room


def handle_speak(ctx: TurnContext, intent: Intent) -> None:
    """`say <words>` to nobody in particular: the player says them aloud where they stand; in a
    shared tavern the others there hear them (`room.chat`). An NPC is spoken to with `@name` or
    `say <words> to <name>`."""
    words = " ".join(intent.extra.split()).strip(" \"'“”")
    if not words:
        raise Refusal("You clear your throat, but find nothing to say.", code="missing_field")
    words = words[:MAX_SAID]
    ctx.aloud = {"type": "room.chat", "text": words}
    people = ctx.present_npcs()
    heard = f" {ctx.rng.choice(people).name} looks up and nods." if people else ""
    ended = words if words[-1] in ".!?…" else words + "."
    ctx.say(f'You say, "{ended}"{heard}')


def handle_whisper(ctx: TurnContext, intent: Intent) -> None:
    """`whisper gareth words`, `whisper to gareth: words` or `whisper words to gareth`: speech only
    the player hears answered."""
    words = intent.extra
    for npc in ctx.present_npcs():
        for name in sorted(_names_of(npc), key=len, reverse=True):
            said = _after_name(words, name)
            if said is None:
                continue
            if not said:
                raise Refusal("You lean in close, but find nothing to whisper.", code="missing_field")
            ctx.say_request = SayRequest(npc=npc.slug, text=said, private=True)
            return
    if not words.strip():
        raise Refusal("You lean in close, but find nothing to whisper.", code="missing_field")
    absent = next((npc for npc in ctx.world.npcs.values() if any(_after_name(words, name) for name in _names_of(npc))), None)
    if absent is not None:  # someone the tavern knows, elsewhere
        raise not_here(ctx, absent)
    raise Refusal("Whisper to whom? Say 'whisper <name> <words>' to someone here.", code="unknown_npc")


def _names_of(npc: NpcDef) -> set[str]:
    return {npc.slug, npc.name, npc.name.split()[0]}


def _after_name(words: str, name: str) -> str | None:
    """The words whispered when `words` addresses `name` ("to gareth: hello", "gareth hello",
    "hello to gareth"), else None."""
    lower, name = words.lower(), name.lower()
    for lead in (f"to {name}", name):
        if lower.startswith(lead) and (len(lower) == len(lead) or lower[len(lead)] in " :,"):
            return words[len(lead):].lstrip(" :,").strip()
    trimmed = lower.rstrip(" .!?")
    if trimmed.endswith(f" to {name}"):
        return words[:len(trimmed) - len(name) - 4].strip()
    return None


def handle_talk(ctx: TurnContext, intent: Intent) -> None:
    npc = npc_to_address(ctx, intent.npc)
    ctx.say_request = SayRequest(npc=npc.slug, text="Hello there.")


def conversation_apply(ctx: TurnContext, npc_slug: str, line: str) -> str | None:
    """What speaking once with an NPC changes; returns a clue the NPC let slip, if any."""
    mind = ctx.mind(npc_slug)
    today = clock.day_of(ctx.state.minute)
    if mind.flags.get("talked_day") != today:
        mind.flags["talked_day"] = today
        mind.flags["met"] = True
        ctx.changed_minds.add(npc_slug)
        ctx.adjust_relationship(npc_slug, DAILY_TALK_BONUS)
    ctx.advance(MINUTES_PER_EXCHANGE)
    clue = mystery.clue_by_asking(ctx, npc_slug, line)
    bounties.report(ctx, npc_slug)
    bounties.progress(ctx)
    return clue
