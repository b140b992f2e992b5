"""Gold in an NPC's reply (gameplay/reply_checks.py's price check): every figure next to a thing
the tavern sells is that thing's price, and is put right when it is not; a figure by no such thing
is the price of something the player's line names, or one the world states, or the player's own;
a share of coin ("one coin in ten") is one the world states; no money of another world. Plain
rules over the world's items and texts (`CheckWorld`'s items, amounts and rates)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100,
    "a": 1, "a single": 1,
}
_AMOUNT = re.compile(
    r"\b(\d+|" + "|".join(sorted((w for w in NUMBER_WORDS if w != "a single"), key=len, reverse=True))
    + r")(?:\s*-\s*|\s+)(gold pieces?|gold coins?|golds|gold|gp|coins?|crowns?|pieces|coppers|copper|silvers|silver|pennies|shillings|marks"
    r"|dollars?|bucks|euros?|cents)\b",
    re.IGNORECASE,
)
OTHER_CURRENCY = frozenset({"copper", "coppers", "silver", "silvers", "pennies", "shillings", "marks", "crown", "crowns",
                            "dollar", "dollars", "bucks", "euro", "euros", "cents"})
_MONEY_SIGN = re.compile(r"[£$€]\s?\d")  # "£20": money of another world


@dataclass(frozen=True)
class ItemPrice:
    aliases: tuple[str, ...]  # lower-case, longest first
    price: int


_NUMBER = r"(\d+|" + "|".join(sorted((w for w in NUMBER_WORDS if w not in ("a", "a single")), key=len, reverse=True)) + r")"
_RATE = re.compile(_NUMBER + r"(\s+(?:gold\s+)?coins?)?\s+(?:in|out of)\s+(?:every\s+|a\s+)?" + _NUMBER + r"\b",
                   re.IGNORECASE)
_TAKES = re.compile(r"\b(?:house|cut|takes?|taken|share|fee|tithe|keeps?)\b", re.IGNORECASE)  # a share of coin, not of chances


def _number(raw: str) -> int | None:
    raw = raw.lower()
    return int(raw) if raw.isdigit() else NUMBER_WORDS.get(raw)


def rates_in(text: str) -> list[tuple[tuple[int, int], re.Match]]:
    """The shares of coin a text states ("one coin in ten"; "2 in 10" beside "the house takes"), as
    (part, whole), with their matches; not odds ("one in a hundred chance")."""
    found = []
    for match in _RATE.finditer(text):
        if not match.group(2) and not _TAKES.search(text):
            continue
        part, whole = _number(match.group(1)), _number(match.group(3))
        if part is not None and whole is not None and 0 < part < whole:
            found.append(((part, whole), match))
    return found


def figure_words(value: int) -> tuple[str, ...]:
    """How a reply may say a figure: as digits or words ("3", "three")."""
    return (str(value), *(k for k, v in NUMBER_WORDS.items() if v == value and k not in ("a", "a single")))


def amount_spans(text: str) -> list[tuple[int, str, int, int]]:
    """The sums of money a text states, as (value, unit, start, end) of each."""
    return [(value, m.group(2).lower(), m.start(), m.end()) for m in _AMOUNT.finditer(text)
            if (value := _number(m.group(1))) is not None]


def amounts_in(text: str) -> list[tuple[int, str]]:
    """The sums of money a text states, as (value, unit): "five gold" is (5, "gold")."""
    found = []
    for match in _AMOUNT.finditer(text):
        value = _number(match.group(1))
        if value is not None:
            found.append((value, match.group(2).lower()))
    return found


# A line asking what the games of chance take ("how much to start", "what are the stakes?"): a figure
# said with nothing sold beside it is the least or the most bet (a playtest reply told Vesna's house
# rules as "there's a standard price of 2 gold").
_BETS_ASKED = re.compile(r"\b(?:bets?|betting|stakes?|wagers?|house rules|how much to (?:start|play|sit|join|bet)|"
                         r"(?:minimum|maximum|least|most) (?:i can )?(?:bet|stake|wager|put down)|buy.?in|ante)\b", re.IGNORECASE)


def priced(text: str, line: str, world, *, before: str = "") -> tuple[bool, str, str]:
    """Every gold figure next to a thing the tavern sells is that thing's price (corrected when not);
    a figure with no such thing is the price of one of the things the player's line names (the one,
    corrected, when it names one; "wine or rustgut?" -> "1 gold" is neither's, and which was meant
    is unknown), or of the one thing the reply's sentences `before` it name, else a stake when the
    line asks what the games take, else one the world states, or the player's own; no other currency. Returns (whether
    the sentence may be shown, the sentence to show, why: "price", "currency", "price_corrected" or "")."""
    if _MONEY_SIGN.search(text):
        return False, text, "currency"
    line_amounts = {value for value, _ in amounts_in(line)}
    line_items = _items_named(line, world)
    asked = line_items[0] if len(line_items) == 1 else None
    if not line_items and before:  # "That's a mug of red wine. It has 8 gold coins.": the figure is the wine's
        said_before = _items_named(before, world)
        asked = said_before[0] if len(said_before) == 1 else None
    bets_asked = _BETS_ASKED.search(line) is not None  # a figure with no thing beside it is a stake
    base = _rated(text, line, world)
    if base is None or _flat_cut(base, world):
        return False, text, "price"
    shares = [m for _, m in rates_in(base)]
    rated = [(m.start(1), m.end(1)) for m in shares]
    unshared = base  # the text with its shares and figures blanked: neither "one coin in ten" nor "two gold coin" names the lucky coin
    for m in [*shares, *_AMOUNT.finditer(base)]:
        unshared = unshared[:m.start()] + " " * (m.end() - m.start()) + unshared[m.end():]
    corrected = base
    for match in reversed(list(_AMOUNT.finditer(base))):
        if any(start <= match.start(1) < end for start, end in rated):
            continue  # the part of a share, put right above
        written, unit = match.group(1), match.group(2).lower()
        raw = written.lower()
        value = _number(raw)
        if unit in OTHER_CURRENCY and value not in line_amounts:
            return False, text, "currency"
        if bets_asked and value in world.bets:
            continue  # a stake, when the line asks what the games take ("Dice, love. One gold buys you in.": no price of the bone dice)
        item = item_near(unshared, match.start(), match.end(), world) or asked
        if item is not None and value != item.price and raw not in ("a",):
            if value in line_amounts:
                continue  # the player's own figure, said back
            corrected = corrected[: match.start(1)] + _like(written, item.price) + corrected[match.end(1):]
        elif item is None and value not in line_amounts and (
                value not in {i.price for i in line_items} if line_items else
                value not in world.bets if bets_asked else value not in world.amounts):
            return False, text, "price"
    corrected = _bare_priced(corrected, world, line_amounts)
    return True, corrected, "price_corrected" if corrected != text else ""


# "The house takes a coin, 1 gold.": the house's take said as a sum where the world states a share.
_CUT = re.compile(r"\b(?:house(?:'s)? (?:takes|keeps|gets|cut)|(?:the|its|my|a) cut)\b(?P<after>[^.;!?]{0,30})", re.IGNORECASE)
_STAKED = re.compile(r"\b(?:bets?|stakes?|wagers?|games?|plays?)\b", re.IGNORECASE)


def _flat_cut(text: str, world) -> bool:
    if not world.rates or rates_in(text):
        return False
    for m in _CUT.finditer(text):
        amount = _AMOUNT.search(m.group("after"))
        if amount is not None and not _STAKED.search(m.group("after")[:amount.start()]):
            return True
    return False


def _bare_priced(text: str, world, line_amounts: set[int]) -> str:
    """A figure with no unit said as a thing's price ("and a pie is 3.") is put right too."""
    pattern, prices = _bare_pattern(world.items)

    def fixed(m: re.Match) -> str:
        value, price = int(m.group(3)), prices[m.group(2).lower()]
        return m.group(0) if value == price or value in line_amounts else m.group(1) + str(price)

    return pattern.sub(fixed, text)


@lru_cache(maxsize=4)
def _bare_pattern(items: tuple[ItemPrice, ...]) -> tuple[re.Pattern, dict[str, int]]:
    """One pattern for every item's aliases (longest first), and each alias's price (of the last
    item that has it, as when each item's aliases were tried in turn)."""
    prices = {alias: item.price for item in items for alias in item.aliases}
    names = "|".join(re.escape(a) for a in sorted(prices, key=len, reverse=True))
    pattern = re.compile(rf"\b(({names})s?\s+(?:is|are|'s|costs?|goes for|for|at)\s+)(\d+)(?=\s*(?:[.,;!?]|$|and\b|or\b))",
                         re.IGNORECASE)
    return pattern, prices


def _rated(text: str, line: str, world) -> str | None:
    """The text with every share put right ("two coin in ten" is "one coin in ten" when that is the
    only share out of ten the world states); None when a share is neither the world's, nor the
    player's own, nor one to put right."""
    line_rates = {rate for rate, _ in rates_in(line)}
    corrected = text
    for (part, whole), match in reversed(rates_in(text)):
        if (part, whole) in world.rates or (part, whole) in line_rates:
            continue
        parts = {p for p, w in world.rates if w == whole}
        if len(parts) != 1:
            return None
        corrected = corrected[: match.start(1)] + _like(match.group(1), parts.pop()) + corrected[match.end(1):]
    return corrected


def _like(raw: str, value: int) -> str:
    """`value` written as `raw` was (digits or a word, keeping its capital)."""
    if raw.isdigit():
        return str(value)
    word = next((w for w, v in NUMBER_WORDS.items() if v == value and w not in ("a", "a single")), str(value))
    return word.capitalize() if raw[:1].isupper() else word


def _items_named(line: str, world) -> list[ItemPrice]:
    """The items a line names, each once."""
    return list({id(item): item for item in world.items if _mentions(line.lower(), item)}.values())


def _mentions(lowered: str, item: ItemPrice) -> bool:
    return any(re.search(rf"\b{re.escape(alias)}s?\b", lowered) for alias in item.aliases)


AFTER_PENALTY = 3  # characters an item named after a figure counts as farther than one named before


def item_near(text: str, start: int, end: int, world) -> ItemPrice | None:
    """The item named closest to the figure at text[start:end], by its longest alias (not the
    figure's own unit: "3 coins" does not name the lucky coin): first within the figure's clause
    ("A candle is 5 gold; a lamp costs 2": the candle's five), else anywhere in the text."""
    lowered = text.lower()
    left = max((m.end() for m in _CLAUSE_BREAK.finditer(lowered, 0, start)), default=0)
    right = next((m.start() for m in _CLAUSE_BREAK.finditer(lowered, end)), len(lowered))
    return _nearest_item(lowered, start, end, world, left, right) or _nearest_item(lowered, start, end, world, 0, len(lowered))


_CLAUSE_BREAK = re.compile(r"[,;:]|\bbut\b")


def _nearest_item(lowered: str, start: int, end: int, world, left: int, right: int) -> ItemPrice | None:
    best, best_distance = None, None
    for item in world.items:
        for alias in item.aliases:
            for match in re.finditer(rf"\b{re.escape(alias)}s?\b", lowered):
                if match.start() < end and match.end() > start or match.start() < left or match.end() > right:
                    continue
                # an item said before its figure ("a candle is 1 gold, a lantern ...") is its figure's
                # over one as near after it
                distance = start - match.end() if match.end() <= start else match.start() - end + AFTER_PENALTY
                if best_distance is None or distance < best_distance or (distance == best_distance and len(alias) > len(best[1])):
                    best, best_distance = (item, alias), distance
            if best is not None and best[0] is item:
                break  # this item's longest alias found: shorter ones would only match inside it
    return best[0] if best is not None else None
