"""Slots in cached replies: the player's name and the time words ("third bell of morning",
"Moonday", "Spring") are stored as {player}, {bell}, {day_name}, {season} and filled in for the
player who receives the reply, so a reused reply speaks to them at their own hour."""
from __future__ import annotations

import re
from collections.abc import Mapping

PLAYER = "player"
SLOT = re.compile(r"\{(\w+)\}")


def _variants(values: Mapping[str, str]) -> list[tuple[str, str]]:
    """(slot, words) pairs, longest words first, so "third bell of morning" wins over "third bell"."""
    pairs = [(slot, words) for slot, words in values.items() if words and len(words) >= 2]
    return sorted(pairs, key=lambda pair: len(pair[1]), reverse=True)


def slots_make(text: str, *, values: Mapping[str, str]) -> str:
    """Replace the words of each slot by the slot: `{slot}`, or `{Slot}` where the words began a
    capital they would not otherwise have."""
    text = text.replace("{", "(").replace("}", ")")  # a stray brace must not read as a slot
    for slot, words in _variants(values):
        flags = re.IGNORECASE if slot.startswith("bell") else 0  # names, days, seasons: as written ("spring water")
        pattern = re.compile(rf"(?<![\w{{]){re.escape(words)}(?![\w}}])", flags)
        text = pattern.sub(lambda m, s=slot, w=words: _slot_for(m.group(0), s, w), text)
    return text


def _slot_for(found: str, slot: str, words: str) -> str:
    capital = found[:1].isupper() and not words[:1].isupper()
    return "{" + (slot[:1].upper() + slot[1:] if capital else slot) + "}"


def slots_fill(text: str, *, values: Mapping[str, str], fallback: Mapping[str, str] | None = None) -> str:
    """Put this player's words into the slots; an unknown slot gets `fallback`'s words or stays."""
    def fill(match: re.Match) -> str:
        name = match.group(1)
        key = name[:1].lower() + name[1:]
        words = values.get(key) or (fallback or {}).get(key)
        if not words:
            return match.group(0)
        return words[:1].upper() + words[1:] if name[:1].isupper() else words

    return SLOT.sub(fill, text)


def slots_used(text: str) -> frozenset[str]:
    return frozenset(m.group(1).lower() for m in SLOT.finditer(text))
