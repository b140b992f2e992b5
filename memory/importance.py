"""How much a memory matters to an NPC, 0..1: a fast heuristic for every record, and the model's rating.

The heuristic is a noisy-or of cues (names, promises, money, quests, kin, strong feeling, secrets):
each cue found adds its weight without the total passing 1. The model, where available, rates
records 1-10 in the background (`services.memory_refine_importance`); `parse_rating` reads its
answer and returns None for anything that is not one clear rating, so the heuristic stays.
"""
from __future__ import annotations

import re

_CUES: tuple[tuple[float, re.Pattern[str]], ...] = tuple(
    (weight, re.compile(pattern, re.IGNORECASE))
    for weight, pattern in (
        (0.45, r"\b(promise[ds]?|swear|swore|sworn|vow(ed|s)?|oath|my word)\b"),
        (0.40, r"\b(my name(?:'s| is)|call me|i am called|known as)\b"),
        (0.35, r"\b(owe[ds]?|debt|loan|lend|lent|borrow(ed)?|repay)\b"),
        (0.30, r"\b(secret|nobody knows|don't tell|do not tell|confess|truth is|hid|hidden|buried)\b"),
        (0.30, r"\b(kill(ed)?|murder(ed)?|dead|died|die|death|revenge|betray(ed)?|grave|war|siege|battle|fought)\b"),
        (0.25, r"\b(stole|stolen|robbed|cheat(ed)?|swindled|curse[ds]?|witch|dragon|burned|haunted)\b"),
        (0.25, r"\b(quest|bounty|looking for|searching for|hunting for|treasure|missing|lost|find|map)\b"),
        (0.25, r"\b(I was|I used to|I grew up|when I was|I fought|I hid|I lost|I killed|I left|I lived|I served|"
               r"my family|my home|my past|my village)\b"),
        (0.25, r"\b(sister|brother|mother|father|wife|husband|son|daughter|family|kin|child)\b"),
        (0.25, r"\b(love[ds]?|hate[ds]?|afraid|fear(ed)?|furious|angry|grief|weep|sorry|thank you|forgive)\b"),
        (0.20, r"\b(gold|silver|copper|coins?|crowns?|pay|paid|price|reward)\b"),
        (0.15, r"\b\d+\b"),
        (0.10, r"!"),
    )
)
# A capitalised word after the first word of a sentence: most likely a name or a place.
_PROPER_NOUN = re.compile(r"(?<=[a-z,;:] )[A-Z][a-z]{2,}")
_BASE = {"turn": 0.10, "observation": 0.20, "fact": 0.85, "summary": 0.30}
_SMALL_TALK = re.compile(r"^\W*(hi|hello|hey|evening|morning|good (day|evening|morning)|thanks|cheers|aye|yes|no|ok(ay)?|hm+)\W*$", re.I)

_RATED = re.compile(r"\b(10|[1-9])\s*(?:/|out of)\s*10\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\d.])(\d{1,3})(?![\d.])")


NPC_LINE_FACTOR = 0.6  # the NPC's own lines matter less than what the player says and does


def importance_heuristic(text: str, *, kind: str = "turn", speaker: str = "") -> float:
    """0..1, higher for names, promises, money, quests, kin, the player's own past and strong feeling.

    A few microseconds. An NPC's own line (`speaker="npc"`) scores lower: memory is about the player.
    """
    score = _cue_score(text, kind)
    return round(max(0.02, score * NPC_LINE_FACTOR), 4) if speaker == "npc" else score


def _cue_score(text: str, kind: str) -> float:
    if _SMALL_TALK.match(text):
        return 0.05
    missing = 1.0 - _BASE.get(kind, 0.10)
    for weight, pattern in _CUES:
        if pattern.search(text):
            missing *= 1.0 - weight
    if _PROPER_NOUN.search(text):
        missing *= 0.85
    if len(text.split()) < 4:
        missing = min(1.0, missing * 1.1)
    return round(min(1.0, max(0.02, 1.0 - missing)), 4)


RATING_INSTRUCTIONS = (
    "You rate memories for a character in a fantasy tavern. On a scale of 1 to 10, where 1 is purely "
    "mundane (ordering a drink, the weather) and 10 is extremely important (a death in the family, a sworn "
    "oath, a large debt, a secret), rate how much the memory below will matter later. Answer with one number."
)


def rating_messages(*, npc_name: str, text: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": RATING_INSTRUCTIONS},
        {"role": "user", "content": f"Memory of {npc_name}: {text[:600]}\nRating (1-10):"},
    ]


def parse_rating(answer: str) -> float | None:
    """The model's 1-10 rating as 0..1, or None unless the answer holds one clear rating."""
    rated = _RATED.search(answer)
    if rated:
        return (int(rated.group(1)) - 1) / 9
    numbers = {int(n) for n in _NUMBER.findall(answer)}
    if len(numbers) == 1:
        (value,) = numbers
        if 1 <= value <= 10:
            return (value - 1) / 9
    return None


def importance_blend(*, heuristic: float, rating: float) -> float:
    """The refined importance: mostly the model's, steadied by the heuristic's cues."""
    return round(min(1.0, max(0.0, 0.3 * heuristic + 0.7 * rating)), 4)
