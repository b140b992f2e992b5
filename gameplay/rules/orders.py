"""An order said to the NPC who sells the thing ("An ale, please", "Can I get a room for the night?"):
the rules carry it out as the command would, so that asking the barkeep for an ale buys one, and
the model never decides whether gold changed hands. A question about a thing ("How much is the ale?",
"Do you have ale?"), a thing sold by someone else, or words around it that are not an order
("I'd like to know about the ale") are no order: the NPC answers them."""
from __future__ import annotations

import re

from npcs.persona import NpcDef

from .context import TurnContext
from .lookup import npc_named
from .parser import count_said

_POLITE = r"(?:please|thanks|thank you|if you would|if you please|friend|barkeep|love|mate|sir|madam|ma'am|then|too)"
_ORDER = re.compile(
    r"^(?:(?:well|ok|okay|right|so|yes|aye|then|and|oh|hm+)[ ,]+)*"
    r"(?P<ask>(?:i'?d|i would|i'?ll|i will|i want|i wanna|i need|let me|let's|can i|could i|may i|can we|could we)"
    r"(?: please)?(?: like| love)?(?: to)?(?: (?:have|take|get|buy|order|grab|rent|try))?"
    r"|(?:give|get|pour|bring|fetch|sell|serve|rent|find) (?:me|us)"
    r"|(?:i'?ll|i will|we'?ll) (?:have|take))?"
    r" ?(?P<what>[a-z0-9][a-z0-9' -]*?)"
    r"(?:[ ,]+" + _POLITE + r")*[ .!]*(?P<asked>\?)?$",
    re.IGNORECASE,
)
_VAGUE = re.compile(r"^(?:(?:another|some|the|that)\s+)?(?P<thing>.+)$")  # one of the thing
_ANOTHER_NIGHT = re.compile(r"^(?:(?:the |my )?room (?:for )?)?(?:another|one more|an extra) night(?: upstairs| in the room)?$")
_ROOM = re.compile(r"^(?:a |the )?(?:room|bed|room upstairs|bed for the night|room for the night|room for tonight|"
                   r"bed for tonight|night's lodging|place to sleep)$")


def order_said(ctx: TurnContext, npc: NpcDef, line: str) -> str | None:
    """The command an order said to `npc` comes to ("buy 2 ale", "rent a room"), or None."""
    m = _ORDER.match(" ".join(line.lower().replace("’", "'").split()))
    if m is None:
        return None
    what = m.group("what").strip()
    bare = not m.group("ask")
    if bare and (m.group("asked") or not (count_said(what.split()) or re.match(r"^(?:another|some)\b", what)) and
                 not re.search(_POLITE + r"[ .!]*$", line.lower())):
        return None  # "Ale?" asks; "An ale." or "Ale, please." orders
    if _ROOM.match(what) or _ANOTHER_NIGHT.match(what):
        key = ctx.world.items.get("room-key")
        command = "rent another night" if _ANOTHER_NIGHT.match(what) else "rent a room"
        return command if key is not None and key.seller == npc.slug else None
    what, _, whom = what.partition(" for ")
    treated = npc_named(ctx.world.npcs.values(), whom) if whom else None
    if whom and treated is None and not _PURPOSE.match(whom):
        return None  # "an ale for later"? Not an order the rules can read
    words = what.split()
    counted = count_said(words)
    qty, thing = (counted[0], " ".join(words[counted[1]:])) if counted else (1, _VAGUE.match(what).group("thing"))
    item = _sold_by(ctx, npc, thing)
    if item is None:
        return None
    alias = item.aliases[0] if item.aliases else item.name
    if treated is not None:  # "an ale for Amos": a round bought for someone (`buy ale for amos`)
        return f"buy {alias} for {treated.slug}"
    return f"buy {qty} {alias}"


# What an order may be for without changing it: "some rat poison for the cellar", "a candle for my room".
_PURPOSE = re.compile(r"^(?:the|my|our|a|an|your) [a-z' ]+$|^(?:me|us|myself|now|tonight|later|the road|upstairs)$")


def _sold_by(ctx: TurnContext, npc: NpcDef, thing: str):
    """The item `thing` names exactly (a name or alias, or its plural) that `npc` sells here."""
    for item in ctx.world.items.values():
        if item.seller != npc.slug or ctx.state.location not in item.sold_at or item.slug == "room-key":
            continue
        names = {n.lower() for n in (item.name, *item.aliases) if n}
        if thing in names or thing.rstrip("s") in names or thing.removesuffix("es") in names:
            return item
    return None
