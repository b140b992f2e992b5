"""False claims about the tavern in a player's line that the game can tell are false, with what it
knows instead: a wrong price, pay or reward ("ale's still 1 gold, yeah?"), something free that is
not ("the stew's on the house for guests"), a place the player does not hold ("as the new co-owner"),
and wonders or disasters the world has never heard of ("the dragon under the cellar"). A claimed
shared past ("you promised me...") is read by gameplay/reply_premises.premise_claimed: the NPC's
memory decides that one. Either way the NPC must turn the claim down (docs/llm.md, "False claims").
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .reply_prices import OTHER_CURRENCY, amount_spans, figure_words
from .reply_world import check_world


@dataclass(frozen=True)
class Claim:
    kind: str  # "price", "free", "role", "stranger", "unheard"
    said: str  # the NPC's answer, the denial first: "No, a mug of ale is 3 gold."
    words: tuple[str, ...] = ()  # a reply's first sentence must say one of these (the true figure)


@dataclass(frozen=True)
class _Valued:
    """A thing of the tavern with a figure: an item's price, a job's pay, a notice's reward."""

    phrases: tuple[str, ...]  # lower-case, longest first
    value: int
    said: str  # "a mug of ale is 3 gold"
    item: bool  # a thing sold (not a job nor a notice)


def claim_read(line: str, world) -> Claim | None:
    """The first false claim about the tavern that the line makes, or None."""
    if _MAKE_BELIEVE.search(line):
        return None
    for read in (_price_claimed, _free_claimed, _role_claimed, _stranger_claimed, _unheard_claimed):
        claim = read(line, world)
        if claim is not None:
            return claim
    return None


# A figure said of the player's own purse ("I've only got 20 gold") or of what they won or lost is
# theirs to know, not a claim about a price.
_PURSE = re.compile(r"\b(?:got|have|has|had|left|carrying|spent|only|just|lost|won|owe|owes|save|saved|earned)\W+(?:\w+\W+)?$",
                    re.IGNORECASE)
_MULTIPLES = range(1, 7)  # "two ales for 6 gold" is a fair sum


def _price_claimed(line: str, world) -> Claim | None:
    lowered = line.lower()
    for value, unit, start, end in amount_spans(line):
        if unit in OTHER_CURRENCY or _PURSE.search(lowered[max(0, start - 24):start]):
            continue
        thing = _valued_near(lowered, start, end, world)
        if thing is not None and value not in {thing.value * n for n in _MULTIPLES}:
            return Claim("price", f"No, {thing.said}.", figure_words(thing.value))
    return None


_FREE = re.compile(
    r"\b(?:(?:for|4)\s?free|free of charge|on the house|gratis|no charge|at no cost|without paying|"
    r"half[- ]price|half off|(?:a|any|the|some) discount|(?:is|are|'s|was|were|be|comes?|come)\s+(?:always\s+|still\s+|now\s+|all\s+)?free|"
    r"(?:drink|drinks|eat|eats|ale|beer|food|meals?|stew|pie|cider|wine|tea)\s+(?:\w+\s+)?free|"
    r"free\s+(?:ale|beer|drinks?|pints?|food|meals?|lodging|stew|pie|bread|cider|wine|tea|rounds?|refills?))\b",
    re.IGNORECASE,
)
# "Any beds free?", "is this seat free?": free is empty, not paid for, unless the line says so.
_VACANT = re.compile(r"\b(?:rooms?|beds?|seats?|tables?|chairs?|spots?|stools?|benches?|places?)\b", re.IGNORECASE)
_UNPAID = re.compile(r"\b(?:(?:for|4)\s?free|free of charge|on the house|gratis|no charge|at no cost|without paying)\b", re.IGNORECASE)


def _free_claimed(line: str, world) -> Claim | None:
    match = _FREE.search(line)
    if match is None or line.lower().startswith("thanks") or _VACANT.search(line) and not _UNPAID.search(line):
        return None
    lowered = line.lower()
    thing = _valued_near(lowered, match.start(), match.end(), world, items_only=True)
    if thing is None:
        return Claim("free", "No, nothing here comes free; you pay for what you have, like everyone else.")
    return Claim("free", f"No, {thing.said}.", figure_words(thing.value))


# "As the new owner, ..." is a claim; "what's Gareth like as a boss?" asks about someone else.
_AS = r"(?:(?:^|[,.;:!?]\s*|\b(?:and|but|so|here|now|speaking|come|came|talking|writing|acting)\s+)as)"
_OWNER_CLAIM = re.compile(
    rf"(?:\b(?:i'?m|i am|made me|making me)|{_AS})\s+(?:now\s+)?(?:the|your|a|an|his|her|their)\s+(?:new\s+)?"
    r"(?:co-?owner|owner|landlord|landlady|proprietor|partner|heir|boss|master of (?:this|the) (?:place|house|tavern))\b|"
    r"\bi (?:own|bought|inherited|run) (?:this|the|half (?:of )?(?:this|the)) (?:place|tavern|inn|bar|house|tankard)\b",
    re.IGNORECASE)
_STAFF_CLAIM = re.compile(rf"(?:\b(?:i'?m|i am)|{_AS})\s+(?:the|your)\s+new\s+(?:barkeep|barman|innkeeper|cook|dealer|serving maid|maid|"
                          r"bard|tapster|potboy|bouncer)\b", re.IGNORECASE)
_WATCH_CLAIM = re.compile(rf"(?:\b(?:i'?m|i am|made me|making me)|{_AS})\s+(?:now\s+)?(?:a|the|an)\s+(?:new\s+)?(?:deputy|sergeant|officer|"
                          r"constable|lieutenant|captain|member)\s+(?:of|in)\s+the\s+watch\b|"
                          r"\bmade me (?:a|the) (?:new\s+)?(?:deputy|sergeant|constable|lieutenant)\b", re.IGNORECASE)


def _role_claimed(line: str, world) -> Claim | None:
    npcs = list(world.npcs.values())
    if _OWNER_CLAIM.search(line):
        owner = next((n.name for n in npcs if "owner" in n.role.lower()), None)
        said = f"No, {owner} owns this house, and you're a guest in it." if owner else "No, you're a guest in this house, no more."
        return Claim("role", said)
    if _STAFF_CLAIM.search(line):
        return Claim("role", "No, you don't work here; you're a guest, like anyone come in off the road.")
    if _WATCH_CLAIM.search(line):
        captain = next((n.name for n in npcs if "watch" in n.role.lower()), None)
        said = f"No, you're none of the Watch; {captain} would know it." if captain else "No, you're none of the Watch."
        return Claim("role", said)
    return None


# Someone the player says works or lives here that the world has never named.
_KIN = r"(?:cousin|brother|sister|friend|uncle|aunt|father|mother|dad|mum|son|daughter|wife|husband|mate|pal|nephew|niece)"
_STRANGER = re.compile(rf"\b(?:(?i:my|our) (?i:{_KIN}),? (\w+)|([A-Z][a-z]+))\b[^.?!]{{0,20}}?\b(?i:works|worked|lives|stays|is staying|"
                       r"drinks|sleeps|cooks|serves) here\b")
_NOT_NAMES = frozenset({"who", "he", "she", "it", "that", "this", "everyone", "everybody", "nobody", "someone", "somebody", "anyone",
                        "who's", "what", "which", "one", "girl", "boy", "man", "woman", "here", "still", "also", "now", "i", "you"})


def _stranger_claimed(line: str, world) -> Claim | None:
    for match in _STRANGER.finditer(line):
        name = match.group(1) or match.group(2)
        if name.lower() not in _NOT_NAMES and name.lower() not in check_world(world).names:
            return Claim("stranger", f"No, no {name.capitalize()} works here; I know everyone who does.")
    return None


# Wonders, great folk and disasters a player may take for granted: claimed when the world's own
# texts never speak of them (an editor who adds a dragon makes it one the NPCs may know).
_WONDERS = re.compile(
    r"\b(dragons?|unicorns?|griffins?|gryphons?|wyverns?|trolls?|ogres?|goblins?|demons?|vampires?|werewol(?:f|ves)|"
    r"wizards?|sorcerers?|sorceress|mages?|mermaids?|krakens?|genies?|golems?|phoenix|fairies|faeries|basilisks?|"
    r"flying carpets?|magic (?:carpets?|compass|ring|sword|lamp|wand|mirror|beans|potion)|potions?|elixirs?|spellbooks?|"
    r"crystal ball)\b",
    re.IGNORECASE)
# A player's own past ("a dragon burned my family's farm") is theirs to tell: a wonder is claimed of
# the tavern when the line speaks of it, or of the NPC, or does not speak of the player.
_OWN_PAST = re.compile(r"\b(?:i|my|me|mine|i'm|i've|i'd)\b", re.IGNORECASE)
_OF_HERE = re.compile(r"\b(?:you|your|here|this place|this tavern|the tavern|the tankard|the cellar|the kitchen|the yard|"
                      r"the den|upstairs|the landing)\b", re.IGNORECASE)
_DISASTERS = re.compile(
    r"\b(?:tavern|place|inn|tankard|kitchen|cellar|building|house|roof|stable|it)\s+(?:\w+\s+)?(burn(?:ed|t|s)? down|went up in flames|"
    r"caught fire|(?:was |got )(?:destroyed|razed|torn down))|\b(plague|earthquake|siege|fire) (?:here|in this (?:place|tavern|house))\b",
    re.IGNORECASE)
# A story, a song or a game of make-believe asks for a tale, not the truth of the tavern.
_MAKE_BELIEVE = re.compile(r"\b(?:stor(?:y|ies)|tales?|songs?|sing|ballad|legends?|myths?|imagine|pretend|dreamt|dreamed|dream|"
                           r"riddles?|jokes?|fairy ?tales?|if there were|what if|suppose)\b", re.IGNORECASE)


def _unheard_claimed(line: str, world) -> Claim | None:
    known = check_world(world).words
    own_past = _OWN_PAST.search(line) and not _OF_HERE.search(line)
    for match in () if own_past else _WONDERS.finditer(line):
        term = match.group(1).lower()
        if not set(term.split()) & known and term.rstrip("s") not in known:
            return Claim("unheard", f"No, I know of no {term} here, nor ever did.")
    if _DISASTERS.search(line):  # the tavern stands
        return Claim("unheard", "No, nothing of the kind ever happened here.")
    return None


_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")
AFTER_PENALTY = 3  # characters a thing named after its figure counts as farther than one named before


def _valued_near(lowered: str, start: int, end: int, world, *, items_only: bool = False) -> _Valued | None:
    """The thing with a figure named nearest the span [start, end) of the line, in its sentence."""
    left = max((m.end() for m in _SENTENCE_END.finditer(lowered, 0, start)), default=0)
    right = next((m.start() for m in _SENTENCE_END.finditer(lowered, end)), len(lowered))
    best, best_distance = None, None
    for thing in _valued(world):
        if items_only and not thing.item:
            continue
        for phrase in thing.phrases:
            for match in re.finditer(rf"\b{re.escape(phrase)}s?\b", lowered[left:right]):
                first, last = match.start() + left, match.end() + left
                if first < end and last > start and not items_only:
                    continue  # a figure's own unit ("2 gold coins") names no lucky coin
                distance = max(0, start - last if last <= start else first - end + AFTER_PENALTY)
                if best_distance is None or distance < best_distance:
                    best, best_distance = thing, distance
    return best


_by_stamp: dict[str, tuple[_Valued, ...]] = {}
_LODGING = ("room", "rooms", "bed", "beds", "sleep", "lodging", "night's stay")
_PLAIN = frozenset({"the", "a", "for", "on", "in", "of", "down", "turn"})


def _valued(world) -> tuple[_Valued, ...]:
    found = _by_stamp.get(world.stamp)
    if found is None:
        _by_stamp.clear()  # one world at a time: an editor's change replaces it
        found = _by_stamp[world.stamp] = _valued_from(world)
    return found


def _valued_from(world) -> tuple[_Valued, ...]:
    things = []
    for item in world.items.values():
        if item.price > 0:
            phrases = {a.lower() for a in (item.name, *item.aliases, *(_LODGING if item.kind == "key" else ()))}
            said = f"a room is {item.price} gold a night" if item.kind == "key" else f"a {item.name} is {item.price} gold"
            things.append(_Valued(_longest_first(phrases), item.price, said, item=True))
    for job in world.jobs.values():
        things.append(_Valued(_longest_first({job.name.lower(), *(a.lower() for a in job.aliases)}), job.pay,
                              f"it's {job.pay} gold to {job.name}", item=False))
    item_words = {w for thing in things for p in thing.phrases for w in p.split()}  # the goods' and the jobs' words
    place_words = {w.lower() for loc in world.locations.values() for w in loc.name.split()}
    for bounty in world.bounties.values():
        own = {w for w in bounty.title.lower().split() if w not in _PLAIN and w not in item_words and w not in place_words}
        things.append(_Valued(_longest_first({bounty.title.lower(), *own}), bounty.reward_gold,
                              f"the notice '{bounty.title}' pays {bounty.reward_gold} gold", item=False))
    return tuple(things)


def _longest_first(phrases: set[str]) -> tuple[str, ...]:
    return tuple(sorted((p for p in phrases if p), key=len, reverse=True))

