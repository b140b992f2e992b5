"""Facts the player reveals about themselves, found with patterns in the player's own lines.

Each fact has a key (`name`, `kin:sister`, `debt:bram`, `promise:bring-cider`, `goal:the-lost-crown`)
so that restating it replaces the old one, and a short third-person text for the NPC's prompt.
Patterns, not the model: they run on every line in the reply path and never invent anything.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

KIN = ("sister", "brother", "mother", "father", "wife", "husband", "son", "daughter")
_END = r"(?=\s*(?:[.!?;]|,\s*(?:and|but|so)\b|\band\b|\bbut\b|$))"
_NAME = r"([A-Za-z][A-Za-z'-]{1,30}(?-i:\s+[A-Z][A-Za-z'-]{1,30})?)"
_CAP_NAME = r"((?-i:[A-Z][a-z'-]{1,30}(?:\s+[A-Z][a-z'-]{1,30})?))"
_NOT_NAMES = frozenset(
    """sorry fine here not so just very afraid looking going glad new tired back home from off on in out
    hungry thirsty lost alone ready sure certain done well good okay ok busy broke poor rich an a the
    searching hunting english""".split()
)
_ARTICLES = frozenset({"a", "an", "the", "my", "your", "his", "her", "their", "our", "some", "to", "of"})

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("name", re.compile(rf"\bmy name(?:'s| is)\s+{_NAME}", re.IGNORECASE)),
    ("name", re.compile(rf"\b(?:call me|i am called|i'm called|they call me)\s+{_NAME}", re.IGNORECASE)),
    ("name", re.compile(rf"(?:^|[.!?]\s+|,\s*)(?:I'm|I am|i'm|i am)\s+{_CAP_NAME}(?=\s*(?:[.!?,;]|$))")),
    ("kin", re.compile(
        rf"\bmy ({'|'.join(KIN)})(?:'s name is|,? (?:who )?is called|,? (?:is )?named|,? called)\s+{_NAME}",
        re.IGNORECASE,
    )),
    ("kin", re.compile(rf"\b[Mm]y ({'|'.join(KIN)}),?\s+(?:is\s+)?{_CAP_NAME}\b")),
    ("debt", re.compile(rf"\bI (?:still )?owe\s+(.{{3,120}}?){_END}", re.IGNORECASE)),
    ("promise", re.compile(
        rf"\bI (?:promise|swear|vow|give you my word)(?:\s+(?:to you\s+)?(?:that|to))?\s+(.{{3,120}}?){_END}",
        re.IGNORECASE,
    )),
    ("goal", re.compile(
        rf"\b(?:I'm|I am|i'm|i am|I've been|i've been) (?:looking|searching|hunting) for\s+(.{{3,120}}?){_END}",
        re.IGNORECASE,
    )),
)
_PRONOUNS = {
    "i": "they", "i'm": "they are", "i've": "they have", "i'll": "they will", "i'd": "they would", "me": "them",
    "my": "their", "mine": "theirs", "myself": "themselves", "am": "are",
}
_WORD = re.compile(r"[A-Za-z']+")


@dataclass(frozen=True)
class Fact:
    key: str
    text: str


def facts_extract(line: str) -> tuple[Fact, ...]:
    """Facts in one player line, at most one per key (the last statement wins)."""
    found: dict[str, Fact] = {}
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(line):
            fact = _fact(kind, match)
            if fact is not None:
                found[fact.key] = fact
    return tuple(found.values())


def player_name_in(line: str) -> str | None:
    """The name the player gives for themselves in this line, if any ("call me Ros" -> "Ros")."""
    name = None
    for kind, pattern in _PATTERNS:
        if kind == "name":
            for match in pattern.finditer(line):
                name = _clean_name(match.group(1)) or name
    return name


def _fact(kind: str, match: re.Match[str]) -> Fact | None:
    if kind == "name":
        name = _clean_name(match.group(1))
        return Fact("name", f"The player's name is {name}.") if name else None
    if kind == "kin":
        relation, name = match.group(1).lower(), _clean_name(match.group(2))
        return Fact(f"kin:{relation}", f"The player's {relation} is called {name}.") if name else None
    rest = _third_person(match.group(1).strip(" ,"))
    if kind == "debt":
        return Fact(f"debt:{_debt_key(rest)}", f"The player owes {rest}.")
    if kind == "promise":
        verb = "promised to" if not rest.lower().startswith(("they ", "i ")) else "promised that"
        return Fact(f"promise:{_slug(rest, 4)}", f"The player {verb} {rest}.")
    return Fact(f"goal:{_slug(rest, 4)}", f"The player is looking for {rest}.")


def _clean_name(raw: str) -> str | None:
    words = raw.split()
    kept: list[str] = []
    for word in words:
        if word.lower() in _NOT_NAMES or word.lower() in _ARTICLES:
            break
        kept.append(word[:1].upper() + word[1:])
    return " ".join(kept) if kept else None


def _third_person(text: str) -> str:
    """"my sister's debt to me" -> "their sister's debt to them": the NPC reads it about the player."""
    return _WORD.sub(lambda m: _PRONOUNS.get(m.group(0).lower(), m.group(0)), text)[:160]


def _debt_key(rest: str) -> str:
    """Who is owed: "you 5 gold" -> "you"; "12 silver to Bram" -> "bram"; "the guild a favour" -> "guild"."""
    to = re.search(r"\bto ([A-Za-z][\w'-]*(?: [A-Z][\w'-]*)?)", rest)
    words = [w for w in _WORD.findall(to.group(1) if to else rest) if w.lower() not in _ARTICLES]
    if not words or (not to and _WORD.match(rest) is None):
        return "someone"
    return _slug(words[0], 1)


def _slug(text: str, words: int) -> str:
    kept = [w.lower() for w in _WORD.findall(text) if w.lower() not in _ARTICLES][:words]
    return "-".join(w.replace("'", "") for w in kept)[:60] or "thing"
