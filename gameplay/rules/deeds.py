"""Deeds the tavern will not let happen: violence, theft, fire and wrecking, and unasked-for
intimacy ("stab gareth", "pickpocket the cook", "set fire to the tavern", "kiss wren"). The game
answers them itself, in the world and at once: the player thinks better of it, or the one it is
aimed at sees it coming. Nothing is taken, broken or hurt. A deed aimed at someone present sours
them: the relationship falls (`SOURED`), and one attacked turns irritable. It costs no game time.

These never reach the narrator: the default 135M model narrated "You set fire to the tavern." and
"You pickpocket the cook, a man with a beard." as done, though the rules did nothing."""
from __future__ import annotations

import random
import re
import zlib
from dataclasses import dataclass

from npcs.persona import NpcDef, name_words, role_nouns

from .context import TurnContext

KINDS = {
    "violence": frozenset("""
        stab punch kick slap strike attack kill murder strangle choke throttle headbutt beat shoot slash
        assault brawl tackle smack whack maim injure wound behead poison torture hit shove fight hurt
        bludgeon knife elbow thump clobber wallop deck thrash batter
    """.split()),
    "theft": frozenset("steal pickpocket rob pilfer swipe snatch loot burgle burglarize shoplift filch purloin".split()),
    "fire": frozenset("burn torch ignite firebomb".split()),
    "wreck": frozenset("smash wreck destroy vandalise vandalize trash demolish shatter topple overturn".split()),
    "advance": frozenset("kiss grope fondle caress seduce snog smooch".split()),
}
# Verbs that are a deed only when aimed at someone ("hit the hay", "beat the odds", "fight the urge").
AIMED_ONLY = frozenset("hit beat shove fight hurt elbow thump kick strike shoot destroy deck".split())
# Verbs that take money or goods only when what they take is money or goods ("nick his purse", "lift her coin").
TAKING = frozenset("nick pinch lift grab pocket take swipe palm".split())
VALUABLES = frozenset("purse purses coin coins money gold silver wallet pouch takings till cashbox valuables".split())
PEOPLE = frozenset("him her them someone somebody everyone everybody anyone anybody man woman stranger patron patrons "
                   "drunk guard".split())
# Words that make it no deed against anyone: the cellar's rats are the player's to deal with (a job),
# and idioms ("kill some time", "shoot the breeze").
NOT_PEOPLE = frozenset("rat rats mouse mice vermin spider spiders fly flies cockroach cockroaches roach roaches bug bugs "
                       "wasp wasps pest pests beetle beetles breeze hay road odds urge time tongue finger fingers "
                       "mouth toast candle candles letter note paper midnight oil hour hours minute minutes while".split())
GAMES = frozenset("dice cards card game games darts chess".split())  # "beat the dealer at dice"
INTIMATE = frozenset("skirt bum bottom backside breast breasts bosom arse thigh thighs".split())
TOUCHING = frozenset("put touch grab pinch squeeze feel stroke rub slide run".split())
SELF = frozenset("myself me self".split())
SOURED = {"violence": -10, "theft": -6, "fire": -6, "wreck": -3, "advance": -2}  # a stranger attacked once is wary (-10)
_LEAD = re.compile(r"^(?:(?:i|i'll|i will|i want to|i'd like to|i try to|i'm going to|let me|let's|try to|attempt to|"
                   r"go and|go|quickly|quietly|slowly|sneakily|secretly|suddenly|then|and)\s+)+", re.IGNORECASE)
_CLAUSES = re.compile(r"\s+(?:and then|and|then)\s+", re.IGNORECASE)  # "walk over to wren and slap her"
# Phrasings that do not start with the deed's own verb.
_PHRASED = (
    (re.compile(r"^set (?:fire to\b|(?:.+ )?(?:on fire|alight|ablaze)$)", re.IGNORECASE), "fire"),
    (re.compile(r"^pick (?:.+'s? )?pockets?\b", re.IGNORECASE), "theft"),
    (re.compile(r"\bwithout paying\b", re.IGNORECASE), "theft"),
    (re.compile(r"^(?:throw|swing|take) (?:a )?(?:punch|swing)\b", re.IGNORECASE), "violence"),
    (re.compile(r"^(?:pull|draw) (?:a |my )?(?:knife|dagger|sword|blade)\b", re.IGNORECASE), "violence"),
    (re.compile(r"^(?:start|pick) a (?:\w+ )?(?:fight|brawl)\b", re.IGNORECASE), "violence"),
    (re.compile(r"^knock (?:.+ )?(?:out|down|senseless|flat)\b", re.IGNORECASE), "violence:aimed"),  # not "knock down the door"
    (re.compile(r"^(?:throw|hurl|fling) .+ (?:through|out of) (?:the |a )?window", re.IGNORECASE), "wreck"),
    (re.compile(r"^(?:kick|knock|tip|flip) (?:over )?(?:the |a )?(?:tables?|chairs?|benches?|stools?)\b", re.IGNORECASE), "wreck"),
    (re.compile(r"^(?:throw|hurl|fling) .+ at\b", re.IGNORECASE), "violence:aimed"),  # at someone; not "a dart at the board"
)
MAX_WORDS = 16


@dataclass(frozen=True)
class Deed:
    kind: str  # a key of KINDS
    target: NpcDef | None  # the NPC it is aimed at, present or not
    own: bool = False  # aimed at the player's own self


def deed_read(ctx: TurnContext, line: str) -> Deed | None:
    """The deed a line of free text attempts, or None when it attempts none: the first clause that
    attempts one ("walk over to wren and slap her")."""
    text = re.sub(r"[^\w\s'-]", " ", line).strip()
    if not text or len(text.split()) > MAX_WORDS:
        return None
    clauses = [_LEAD.sub("", clause).strip() for clause in _CLAUSES.split(text)]
    called = _called(ctx)
    earlier = None  # who an earlier clause named: "her" in the next one is them
    for clause in clauses:
        deed = _clause_deed(clause, called, earlier)
        if deed is not None:
            return deed
        earlier = _target(called, clause.lower().split()) or earlier
    return None


def _clause_deed(text: str, called: dict[str, NpcDef], earlier: NpcDef | None) -> Deed | None:
    words = text.lower().split()
    if not words:
        return None
    rest = [w.removesuffix("'s").removesuffix("'") for w in words[1:]]
    verb = _verb(words[0])
    target, people = _target(called, rest), PEOPLE.intersection(rest)
    if target is None and earlier is not None and people & {"him", "her", "them"}:
        target = earlier
    kind = next((k for k, verbs in KINDS.items() if verb in verbs), None)
    if verb in AIMED_ONLY and target is None and not people:
        kind = None  # "hit the hay"; but "kick over the tables" (below)
    if kind is None and verb in TAKING and VALUABLES.intersection(rest):
        kind = "theft"
    if kind is None:
        kind = next((k for pattern, k in _PHRASED if pattern.search(text)), None)
        if kind is not None and kind.endswith(":aimed"):
            kind = kind.removesuffix(":aimed") if target is not None or people else None
    if INTIMATE.intersection(rest) and (kind is not None or verb in TOUCHING):  # "slap vesna's bum"
        kind = "advance"
    if kind is None or (words[0] == "steal" and rest[:1] in (["away"], ["off"], ["out"])):  # "steal away to my room"
        return None
    if NOT_PEOPLE.intersection(rest) or (kind != "wreck" and GAMES.intersection(rest)):
        return None
    return Deed(kind=kind, target=target, own=bool(SELF.intersection(rest)))


def deed_said(ctx: TurnContext, line: str) -> str | None:
    """The game's answer to a deed it will not let happen (and its effect on the one it was aimed
    at), or None when the line attempts none."""
    deed = deed_read(ctx, line)
    if deed is None:
        return None
    target = deed.target
    soured = ctx.mind(target.slug).relationship if target is not None else 0
    rng = random.Random(f"{ctx.rng.random()}:{line}:{soured}")  # the same deed again: other words
    if deed.own and target is None:
        return "You think better of it."
    people = ctx.present_npcs()
    if target is not None and target.slug not in {n.slug for n in people}:
        return f"{target.name} is not here, and the moment passes."
    if target is None:
        witness = rng.choice(people) if people else None
        lines = UNAIMED[deed.kind] if witness is None else WATCHED[deed.kind]
        return rng.choice(lines).format(name=witness.name if witness else "")
    aimed = AIMED[deed.kind]  # the same deed again, other words: each time sours by the same step, so the step counts
    text = aimed[(zlib.crc32(line.encode()) + soured // SOURED[deed.kind]) % len(aimed)].format(name=target.name, first=_first(target))
    ctx.adjust_relationship(target.slug, SOURED[deed.kind])
    if deed.kind == "violence":
        ctx.set_mood(target.slug, "irritable")
    return text


def _verb(word: str) -> str:
    """A verb as the lists hold it: "stabs", "stabbed", "stabbing" -> "stab"."""
    for suffix, cut in (("bing", 4), ("bed", 3), ("ing", 3), ("ed", 2), ("es", 2), ("s", 1)):
        if word.endswith(suffix) and word[:-cut] in _ALL:
            return word[:-cut]
    return word


_ALL = frozenset().union(*KINDS.values())


def _target(called: dict[str, NpcDef], words: list[str]) -> NpcDef | None:
    """The NPC the words name, by a word of their name or of their role ("the cook", "the cooks purse")."""
    for word in words:
        word = word.removesuffix("'s").removesuffix("'")
        npc = called.get(word) or (called.get(word[:-1]) if word.endswith("s") else None)
        if npc is not None:
            return npc
    return None


def _called(ctx) -> dict[str, NpcDef]:
    """Each word a player may call an NPC by (a name's, a role's), lower-cased -> the NPC."""
    called: dict[str, NpcDef] = {}
    for npc in ctx.world.npcs.values():
        for word in role_nouns(npc.role):
            called.setdefault(word, npc)
    for npc in ctx.world.npcs.values():  # a name wins over a role
        for word in name_words(npc):
            called[word.lower()] = npc
    return called


def _first(npc: NpcDef) -> str:
    words = name_words(npc)
    return words[0] if words else npc.name


# What the game says. {name}: the NPC's full name; {first}: the first word of it.
AIMED = {
    "violence": (
        "You square up to {name}, but {first} sees it in your face before you move and steps out of reach, eyes hard. "
        "You think better of it.",
        "Your hand tightens, and {name} reads it at once: a long, level look, and the room goes quiet. You let it drop.",
        "{name} is out of reach before you have begun, watching you over a table's width. You think better of it.",
    ),
    "theft": (
        "You edge closer to {name}, but {first} turns at just the wrong moment and gives you a long look. "
        "You keep your hands to yourself.",
        "{name} shifts away before your fingers get anywhere near, with a look that says they have seen that trick before.",
    ),
    "fire": ("{name} watches you eye the flames, and you think better of it.",),
    "wreck": ("{name} catches your eye before you start, and you think better of it.",),
    "advance": (
        "{name} steps neatly out of reach, with a look that says not today.",
        "{name} puts a polite arm's length between you, and the moment passes.",
    ),
}
WATCHED = {
    "violence": ("{name} is watching you, and so is half the room. You think better of it.",),
    "theft": ("{name} has an eye on you the whole time. You keep your hands to yourself.",),
    "fire": ("{name} is watching, and the Tankard is the only warm room for miles. You think better of it.",),
    "wreck": ("{name} is watching, and whatever breaks goes on your tab. You think better of it.",),
    "advance": ("Nobody here is inclined, and the moment passes.",),
}
UNAIMED = {
    "violence": ("There is nobody here to quarrel with, and the thought passes.",),
    "theft": ("You look about for a chance, but the moment never quite comes. You keep your hands to yourself.",),
    "fire": ("The Tankard is the only warm room for miles. You think better of it.",),
    "wreck": ("You think better of it: whatever breaks goes on your tab.",),
    "advance": ("There is nobody here to charm, and the moment passes.",),
}
