"""The names of shared taverns and of the players in them, as plain rules: what a tavern's name may
be, what a display name may be, and the name a newcomer is given until they choose one. Pure
functions: no database (the services check that a name is not taken)."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

TAVERN_NAME_MAX = 40
_TAVERN_NAME = re.compile(r"[A-Za-z0-9-]{1,%d}" % TAVERN_NAME_MAX)

NAME_MIN, NAME_MAX = 2, 24
RESERVED = frozenset({"you", "me", "everyone", "everybody", "nobody", "somebody", "someone", "anyone", "the room", "staff"})
DEFAULT_NAMES = ("Traveller", "Wayfarer", "Pilgrim", "Tinker", "Drover", "Peddler", "Minstrel", "Stranger")


def tavern_name_clean(raw: str) -> str | None:
    """The tavern's name as stored (lower case), or None when it is not one: ASCII letters, digits
    and '-', 1 to 40 characters."""
    if not isinstance(raw, str) or not _TAVERN_NAME.fullmatch(raw):
        return None
    return raw.lower()


def name_key(name: str) -> str:
    """What two names are compared by: case and compatibility forms folded ("ANN", "ann", "Ａnn")."""
    return unicodedata.normalize("NFKC", name).casefold()


def display_name_clean(raw: str) -> tuple[str | None, str]:
    """(the name, "") when `raw` may be a display name, else (None, why not, in the world's words):
    2 to 24 characters, letters of any alphabet, digits, single spaces, '-' and "'", beginning
    with a letter."""
    name = " ".join(unicodedata.normalize("NFC", raw if isinstance(raw, str) else "").split())
    if len(name) < NAME_MIN:
        return None, "A name needs at least two letters; folk would never catch it."
    if len(name) > NAME_MAX:
        return None, f"That's a mouthful. Keep it to {NAME_MAX} characters, or nobody will remember it."
    if not name[0].isalpha() or not all(ch.isalpha() or ch.isdigit() or ch in " -'" for ch in name):
        return None, "Letters, digits, spaces, '-' and an apostrophe make a name here, starting with a letter."
    if any(unicodedata.category(ch) in ("Mn", "Me", "Cf") for ch in name):  # stacked marks, invisible characters
        return None, "Letters, digits, spaces, '-' and an apostrophe make a name here, starting with a letter."
    if name_key(name) in RESERVED:
        return None, "That's not a name, friend. What do they call you?"
    return name, ""


def npc_name_keys(npc_names: Iterable[str]) -> frozenset[str]:
    """Every name an NPC answers to (the whole name and each word of it), compared by `name_key`:
    no player may take one."""
    keys = set()
    for full in npc_names:
        keys.add(name_key(full))
        keys.update(name_key(word) for word in full.split() if len(word) >= NAME_MIN)
    return frozenset(keys)


def default_names(seed: int) -> Iterable[str]:
    """Names to give a newcomer, the first one not taken wins: a word chosen by `seed`, then the
    same word numbered."""
    word = DEFAULT_NAMES[seed % len(DEFAULT_NAMES)]
    yield word
    for number in range(2, 10_000):
        yield f"{word} {number}"
