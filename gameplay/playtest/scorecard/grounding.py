"""Grounding: every price, item and name a reply states, each checked against the world (an amount
against what the things named around it cost or pay, an item against who sells it, a name against
the world's names and the player's own words). Counted by the grounding figures."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from .facts import Facts, _figure
from .words import _AMOUNT, _QTY_BEFORE, _number, _sentences

_TITLES = frozenset("mr mrs miss ms sir sire madam madame mister missus dame goodman goodwife lord lady master mistress "
                    "god gods heavens mother father ma pa aye ha oh ah ok okay hmm eh nay yes no well "
                    "wayfarer traveller traveler stranger newcomer guest patron customer".split())  # forms of address
_NOT_SOLD = ("sword", "dagger", "axe", "bow", "arrow", "shield", "armour", "armor", "potion", "elixir", "scroll", "map",
             "amulet", "ring", "gem", "jewel", "necklace", "dragon egg", "egg", "mead", "whisky", "whiskey", "rum",
             "brandy", "gin", "vodka", "champagne", "coffee", "chocolate", "horse", "saddle", "compass", "wand",
             "spellbook", "cloak", "boots", "ham", "chicken", "steak", "sausage", "porridge", "fish", "apple", "pipe",
             "tobacco", "lockpick", "torch", "blanket")
_SELL = re.compile(r"\b(i sell|i've got|i have|we have|we've got|we sell|i can sell|i can get you|for sale|in stock|"
                   r"buy from me|my wares|on offer|i'll sell|i will sell|we serve|i serve|i can do you)\b", re.I)
_SELL_MINE = re.compile(r"\b(i sell|i can sell|i'll sell|i will sell|i'm selling|i am selling|buy (?:it |them |one )?from me|"
                        r"my wares|my stock)\b", re.I)
_NEG = re.compile(r"\b(no|not|never|none|nor|nothing|without)\b|n't\b", re.I)


@dataclass(frozen=True)
class Mention:
    kind: str  # "price" | "item" | "name"
    said: str
    ok: bool


def _terms_in(text: str, terms: Iterable[str]) -> list[tuple[int, str]]:
    low, found, taken = text.lower(), [], set()
    for term in sorted(terms, key=len, reverse=True):
        for m in re.finditer(rf"(?<![a-z]){re.escape(term)}(?:s|es)?(?![a-z])", low):
            if not taken & set(range(m.start(), m.end())):
                found.append((m.start(), term))
                taken |= set(range(m.start(), m.end()))
    return sorted(found)


def _expected(text: str, facts: Facts) -> set[int]:
    """The amounts of gold `text` may carry: what its named things cost or pay (a quantity before an item
    multiplies its price), and the total of the items it names."""
    expected, total = set(), 0
    for at, term in _terms_in(text, facts.anchors):
        qty = _QTY_BEFORE.search(text[:at])
        n = 1 if not qty or qty.group(1).lower() in ("a", "an") else _number(qty.group(1))
        expected |= {v * n for v in facts.anchors[term]} | set(facts.anchors[term])
        if term in facts.item_terms:
            total += facts.prices[facts.item_terms[term]] * max(n, 1)
    return expected | ({total} if total else set())


def grounding_mentions(reply: str, line: str, npc: str, heard_words: set[str], facts: Facts) -> list[Mention]:
    """Every price, item and name `reply` states, each checked against the world. `heard_words`: the
    words the player has said in this game so far (a name the player gave is one the NPC may use)."""
    quoted = {_number(m.group(1)) for m in _AMOUNT.finditer(line)}
    mentions: list[Mention] = []
    for sentence in _sentences(reply):
        for m in _AMOUNT.finditer(sentence):
            value, unit = _number(m.group(1)), m.group(2).lower()
            if value in quoted:
                continue  # the player's own figure, said back
            if _figure(sentence, m) in facts.figures:
                mentions.append(Mention("price", m.group(0), True))  # as the world says it ("one coin in ten")
                continue
            clause = re.split(r"[,;:]|\bbut\b", sentence[:m.start()])[-1] + re.split(r"[,;:]", sentence[m.start():])[0]
            if unit.startswith(("silver", "copper")):
                if _terms_in(sentence, facts.item_terms):
                    mentions.append(Mention("price", m.group(0), False))  # the tavern prices its goods in gold
                continue
            expected = (_expected(clause, facts) or _expected(sentence, facts)
                        or _expected(reply, facts) | _expected(line, facts) or set(facts.amounts))
            mentions.append(Mention("price", m.group(0), value in expected))
        selling = bool(_SELL.search(sentence)) and not _NEG.search(sentence)
        for _, term in _terms_in(sentence, facts.item_terms):
            seller = facts.sellers[facts.item_terms[term]]
            not_sold = seller is None or not facts.prices[facts.item_terms[term]]
            wrong = selling and (not_sold or (_SELL_MINE.search(sentence) and seller != npc))
            mentions.append(Mention("item", term, not wrong))
        if (selling or _AMOUNT.search(sentence)) and not _NEG.search(sentence):
            for _, term in _terms_in(sentence, [g for g in _NOT_SOLD if g not in heard_words and g not in facts.item_terms]):
                mentions.append(Mention("item", term, False))
        for m in re.finditer(r"(?<=[a-z0-9,;'\"] )([A-Z][a-z]+(?:'s)?)\b", sentence):
            word = m.group(1).lower().removesuffix("'s")
            if word in _TITLES or (word in facts.vocabulary and word not in facts.names):
                continue
            mentions.append(Mention("name", m.group(1), word in facts.names or word in heard_words))
    return mentions
