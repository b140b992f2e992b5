"""Which of the moment's facts an NPC's prompt carries for this line.

A small model uses what is in front of it and little else, and is confused by the rest: a price
list of ten items makes it quote the wrong one. So a prompt holds only the facts this line is
about: the prices of the things it names (or of the kind of thing it asks about), what the NPC
knows that shares its words, and the bounties or rumours when it asks for work or news. Pure
word matching over plain values; the same line always gets the same facts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

_WORD = re.compile(r"[a-z]+")
_STOP = frozenset(
    """a an the and or but if of to in on at by for with from about into over is are was were be been am do does
    did have has had i you he she it we they me him her us them my your his its our their this that these those
    what who whom which where when why how can could would should will shall may might must not no yes so too
    very just there here any some all one get got tell say said know like please thanks thank hello hi hey
    well oh ah good evening morning night day friend sir madam lady there's what's it's i'm you're don't""".split()
)
# Words that ask about a kind of thing, and the words a fact about that kind contains.
_ASKS = {
    "price": ("price", "prices", "cost", "costs", "much", "gold", "coin", "coins", "pay", "buy", "sell", "menu", "charge"),
    "drink": ("drink", "drinks", "thirsty", "pour", "pint", "mug", "cup", "glass", "tot", "beer", "booze"),
    "food": ("food", "eat", "hungry", "meal", "supper", "dinner", "breakfast", "lunch", "dish", "serve"),
    "room": ("room", "rooms", "bed", "beds", "sleep", "stay", "lodging", "rent", "night", "upstairs", "chest", "key"),
    "work": ("work", "job", "jobs", "earn", "coin", "task", "hire", "hiring", "bounty", "bounties", "reward", "board"),
    "news": ("news", "gossip", "rumour", "rumours", "rumor", "rumors", "heard", "happening", "story", "stories", "new"),
}
_KIND_WORDS = {
    "drink": ("ale", "cider", "wine", "rustgut", "tea", "mug", "cup", "glass", "tot"),
    "food": ("stew", "bread", "pie", "cake", "cheese", "pickle", "bowl", "plate", "heel"),
    "room": ("room", "key", "chest", "night", "upstairs"),
    "work": ("work", "job", "bounties", "bounty", "board", "notice", "pay", "hour"),
}
MAX_KNOWS = 2
MAX_PRICES = 4


@dataclass(frozen=True)
class Focus:
    prices: tuple[str, ...]
    knows: tuple[str, ...]
    bounties: tuple[str, ...]
    rumours: tuple[str, ...]


def words(text: str) -> set[str]:
    """The line's content words, with a crude stem (plurals, -ing) so "rooms" meets "room"."""
    found = set()
    for word in _WORD.findall(text.lower()):
        if word in _STOP or len(word) < 3:
            continue
        found.add(word)
        for suffix in ("ing", "es", "s"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                found.add(word[: -len(suffix)])
    return found


def asks(line_words: set[str]) -> set[str]:
    """The kinds of thing a line asks about: price, drink, food, room, work, news."""
    return {kind for kind, cues in _ASKS.items() if line_words & set(cues)}


def focus_for(*, line: str, prices: Sequence[str], knows: Sequence[str], bounties: Sequence[str],
              rumours: Sequence[str]) -> Focus:
    line_words = words(line)
    kinds = asks(line_words)
    cue_words = line_words | {w for kind in kinds for w in _KIND_WORDS.get(kind, ())}
    return Focus(
        prices=_prices(prices, line_words, cue_words, kinds),
        knows=_ranked(knows, cue_words, MAX_KNOWS),
        bounties=tuple(bounties) if "work" in kinds else _ranked(bounties, line_words, 1),
        rumours=tuple(rumours) if "news" in kinds else _ranked(rumours, line_words, 1),
    )


def _prices(prices: Sequence[str], line_words: set[str], cue_words: set[str], kinds: set[str]) -> tuple[str, ...]:
    named = _ranked(prices, line_words, MAX_PRICES)
    if named:
        return named
    if kinds & {"drink", "food", "room"}:
        return _ranked(prices, cue_words, MAX_PRICES)
    if "price" in kinds:
        return tuple(prices[:MAX_PRICES])
    return ()


def _ranked(facts: Sequence[str], cue_words: set[str], limit: int) -> tuple[str, ...]:
    """The facts sharing the most words with the cues (at least one), best first, in a stable order."""
    scored = [(len(words(fact) & cue_words), -i, fact) for i, fact in enumerate(facts)]
    return tuple(fact for score, _, fact in sorted(scored, reverse=True) if score > 0)[:limit]
