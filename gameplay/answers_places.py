"""Answers the game knows about the tavern's places, to a player asking an NPC what is there ("What's
upstairs?", "what's in the cellar?", "what's the yard like?"): the place as the world describes it,
and the way there (gameplay/answers.py puts it to the model as the answer of the moment)."""
from __future__ import annotations

import re

from .answers_goods import asked_in_shape, unsaid_words

# A reply must say something of the place (the default model had Gareth answer "What's upstairs?"
# with "Upstairs, I'm afraid. The common room up in the middle of the street is a little room...").
_PLACE_ASKED = tuple(re.compile(p, re.IGNORECASE) for p in (
    r"\bwhat(?:'?s| is| are)(?: there)? (?:(?:in|at|down in|up in|out in|through|behind|beyond) )?(?:the |that |your )?§\s*[?!.]*$",
    r"\bwhat(?:'?s| is) it like (?:in|down in|up in|out in|at) (?:the |that |your )?§",
    r"\bwhat(?:'?s| is| are) (?:the |that |your )?§ like\b",
    r"\b(?:tell me about|describe) (?:the |that |your )?§",
))
# Names of a place that ask of something else: "tell me about the tavern" is its history, "what's
# outside" the town.
_TOO_WIDE = frozenset({"tavern", "room", "outside", "passage", "stairs", "downstairs", "my room", "down below"})
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_COMMON = frozenset("enough behind three everyone knows single where since along".split())  # besides answers_goods.COMMON_WORDS


def place_asked(world, line: str):
    """The place (a LocationDef) a line asks what is there, or None."""
    for location in world.locations.values():
        names = {location.name.lower().removeprefix("the "), *location.aliases} - _TOO_WIDE
        if any(asked_in_shape(line, name, _PLACE_ASKED) for name in sorted(names, key=len, reverse=True)):
            return location
    return None


def place_told(location) -> str:
    """The place's first two sentences as the world describes it."""
    return " ".join(_SENTENCE.split(location.description.strip())[:2])


def place_words(location, line: str) -> tuple[str, ...]:
    """What a reply about it must say: a plain word of what is said of it that the line did not bring."""
    return unsaid_words(place_told(location), line, common=_COMMON)
