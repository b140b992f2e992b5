"""Whether two lines that ask none of the canonical questions ask the same thing."""
from __future__ import annotations

from collections.abc import Callable

from .signature import Signature
from .wordlists import ASPECTS, MODIFIERS, WEAK

UNKNOWN_MIN_SIMILARITY = 0.75


def _parts(sig: Signature) -> tuple[frozenset, frozenset, frozenset]:
    known = frozenset(sig.known)
    return known & ASPECTS, known & MODIFIERS, known - ASPECTS - MODIFIERS - WEAK


def same_question(a: Signature, b: Signature, similarity: Callable[[], float]) -> bool:
    if a.empty or b.empty:
        return False
    aspects_a, mods_a, topics_a = _parts(a)
    aspects_b, mods_b, topics_b = _parts(b)
    if mods_a != mods_b or topics_a != topics_b or aspects_a != aspects_b:
        return False
    if not (topics_a or aspects_a or a.unknown):
        return False  # nothing but "you" and weak words: too little to go on
    if a.unknown == b.unknown:
        return True
    return similarity() >= UNKNOWN_MIN_SIMILARITY
