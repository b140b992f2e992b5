"""Where the player stands, in an NPC's reply (gameplay/reply_checks.py's state claims): a reply may
not tell the player they are not where the rules have them ("You're not in the Common Room." said
there), nor that they are somewhere else ("You're in the cellar now."). Plain rules over the world's
places and their aliases."""
from __future__ import annotations

import re

# Aliases too loose to say where someone is ("you're in my room", "you're in the tavern" from the yard).
_VAGUE_PLACES = frozenset({"room", "my room", "tavern", "stairs", "outside", "downstairs", "upstairs", "passage", "down below"})
_YOU_IN = re.compile(r"(?:^|[.!?,;:]\s*|\b(?:but|and|so|now|friend|aye|well)\s+)(?:you(?:'re| are))\s+(?P<neg>not\s+)?(?:in|at)\s+(?:the\s+)?"
                     r"(?P<place>[a-z][a-z' ]*)", re.IGNORECASE)


def _place_key(name: str) -> str:
    return re.sub(r"^the\s+", "", name.strip().lower())


def places_of(world) -> dict[str, str]:
    """A place's name or alias (lower case, without "the") -> the place's name, for gameplay.world.World."""
    return {_place_key(alias): loc.name for loc in world.locations.values() for alias in (loc.name, *loc.aliases)
            if _place_key(alias) not in _VAGUE_PLACES}


def misplaces(text: str, *, here: str, places: dict[str, str]) -> bool:
    """Whether the sentence tells the player they are not where they stand ("You're not in the Common
    Room.") or are somewhere else ("You're in the cellar now."); a condition ("if you're in the
    cellar") says neither."""
    here = _place_key(here)
    if not here or not places:
        return False
    for match in _YOU_IN.finditer(text):
        words = match.group("place").lower().split()
        named = next((places[key] for n in range(min(4, len(words)), 0, -1)
                      if (key := " ".join(words[:n])) in places), None)
        if named is None:
            continue
        there = _place_key(named) == here
        if bool(match.group("neg")) == there:
            return True
    return False
