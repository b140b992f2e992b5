"""Facts the player reveals about themselves, found with patterns in the player's own lines.

Each fact has a key (`name`, `kin:sister`, `pet:dog`, `trade`, `lost:scarf`, `debt:bram`,
`promise:bring-cider`, `goal:the-lost-crown`) so that restating it replaces the old one, and a short
third-person text for the NPC's prompt. Patterns, not the model: they run on every line in the reply
path and never invent anything. A line that asks such a fact back ("what's my dog called?") names
the keys it asks (`recall_asked`), and `fact_answer` gives the words a reply to it must say.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

KIN = ("sister", "brother", "mother", "father", "wife", "husband", "son", "daughter", "uncle", "aunt", "cousin",
       "nephew", "niece", "grandmother", "grandfather", "gran", "grandad")
PETS = ("dog", "cat", "horse", "mule", "pony", "donkey", "goat", "hound", "ferret", "parrot", "hawk", "falcon", "crow",
        "raven", "rat", "mare", "stallion", "puppy", "kitten")
# Trades a player may say they follow ("I'm a cooper"): a word of this list, or one made like them.
TRADES = frozenset("""
tanner cooper smith blacksmith silversmith goldsmith locksmith weaver potter baker butcher brewer miller farmer fisher
fisherman carpenter joiner mason stonemason thatcher cobbler tailor seamstress dyer fuller chandler glazier glassblower
scribe clerk merchant trader pedlar peddler tinker sailor boatman ferryman soldier mercenary guard watchman hunter
trapper forester woodcutter miner shepherd herder drover cook innkeeper barmaid minstrel bard musician priest monk
nun healer herbalist apothecary physician surgeon midwife alchemist scholar teacher tutor lawyer bookbinder printer
jeweller jeweler carter wheelwright wainwright shipwright cartwright saddler harness-maker ropemaker roper
candlemaker basketmaker bowyer fletcher armourer armorer sword-smith knight squire courier messenger gardener
groom stablehand ostler laundress washerwoman spinner embroiderer painter sculptor carver cartographer
navigator thief pickpocket smuggler gambler actor juggler acrobat entertainer labourer laborer porter
""".split())
_TRADE_SUFFIXES = ("smith", "maker", "wright", "monger", "blower", "binder", "cutter", "weaver", "herd")
_END = r"(?=\s*(?:[.!?;]|,\s*(?:and|but|so)\b|\band\b|\bbut\b|$))"
_NAME = r"([A-Za-z][A-Za-z'-]{1,30}(?-i:\s+[A-Z][A-Za-z'-]{1,30})?)"
_CAP_NAME = r"((?-i:[A-Z][a-z'-]{1,30}(?:\s+[A-Z][a-z'-]{1,30})?))"
_NOT_NAMES = frozenset(
    """sorry fine here not so just very afraid looking going glad new tired back home from off on in out
    hungry thirsty lost alone ready sure certain done well good okay ok busy broke poor rich an a the
    searching hunting english""".split()
)
_ARTICLES = frozenset({"a", "an", "the", "my", "your", "his", "her", "their", "our", "some", "to", "of"})

_PET = "|".join(PETS)
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("name", re.compile(rf"\bmy name(?:'s| is)\s+{_NAME}", re.IGNORECASE)),
    ("name", re.compile(rf"(?:^|[.!?,;]\s*)(?:the )?name(?:'s| is)\s+{_NAME}", re.IGNORECASE)),
    ("name", re.compile(rf"\bI go by\s+{_NAME}", re.IGNORECASE)),
    ("pet", re.compile(rf"\bmy ({_PET})(?:'s name is|,? (?:who )?is called|,? (?:is )?named|,? called)\s+{_NAME}", re.IGNORECASE)),
    ("pet", re.compile(rf"\b[Mm]y ({_PET}),?\s+(?:is\s+)?{_CAP_NAME}\b")),
    ("pet", re.compile(rf"\b(?:I've|I have|ive|I've got|I have got|ive got|I got|I own|I've brought|I brought) (?:a|an|my) ({_PET})"
                       rf",? (?:called|named)\s+{_NAME}", re.IGNORECASE)),
    ("trade", re.compile(r"\b(?:I'm|I am|im) (?:a|an) ([a-z][a-z-]{2,30})\b", re.IGNORECASE)),
    ("trade", re.compile(r"\b(?:I work as|I'm working as|I earn my keep as|my trade is|my work is) (?:a|an)?\s*([a-z][a-z-]{2,30})\b",
                         re.IGNORECASE)),
    ("trade", re.compile(r"\bby trade,? (?:I'm|I am|im) (?:a|an) ([a-z][a-z-]{2,30})\b", re.IGNORECASE)),
    ("lost", re.compile(r"\b(?:I've|I have|ive|I|I've gone and|I went and) (?:lost|misplaced|dropped|mislaid) my "
                        r"((?:[a-z']+ ){0,2}?([a-z]{3,30}))\b(?= somewhere| on| in| at| when| while| and| but|[.!?,;]|$)", re.IGNORECASE)),
    ("lost", re.compile(r"\bmy ((?:[a-z']+ ){0,2}?([a-z]{3,30})) (?:went|has gone|is|has been|got) (?:missing|lost|stolen)\b", re.IGNORECASE)),
    ("name", re.compile(rf"\b(?:call me|calls me|i am called|i'm called|they call me|know me as|known as)\s+{_NAME}", re.IGNORECASE)),
    ("name", re.compile(rf"(?:^|[.!?,;]\s*){_CAP_NAME}'s the name\b")),
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
    if kind == "pet":
        animal, name = match.group(1).lower(), _clean_name(match.group(2))
        return Fact(f"pet:{animal}", f"The player's {animal} is called {name}.") if name else None
    if kind == "trade":
        trade = match.group(1).lower()
        return Fact("trade", f"The player is a {trade} by trade.") if _is_trade(trade) else None
    if kind == "lost":
        thing, noun = match.group(1).lower(), match.group(2).lower()
        return Fact(f"lost:{noun}", f"The player lost their {thing}.") if noun not in _NOT_THINGS and noun not in KIN else None
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


_NOT_THINGS = frozenset("way mind temper head nerve touch footing bearings patience place chance faith".split())


def _is_trade(word: str) -> bool:
    return word in TRADES or (word.endswith(_TRADE_SUFFIXES) and len(word) > 6)


def recall_asked(line: str) -> tuple[str, ...]:
    """The keys (or key prefixes: "pet:", "" for every fact) of the facts a line asks the NPC to say
    back ("what's my dog called?" -> ("pet:dog",)); () for a line that asks none."""
    text = line.lower().replace("’", "'")
    if not _RECALL.search(text):
        return ()
    if re.search(r"\b(?:know|remember|recall|heard|learned|learnt) (?:so far )?(?:about|of) me\b|\bwhat do you know\b.*\bme\b", text) \
            and not re.search(r"\bmy\b", text):
        return ("",)
    return tuple(dict.fromkeys(key.format(*found.groups()) for pattern, key in _RECALL_KEYS
                               if (found := pattern.search(text))))


_RECALL = re.compile(r"\b(?:what(?:'s| is| was| were|s)?|who(?:'s| is| am| was)?|remember|recall|forgot|forget|know|called|"
                     r"tell me|again)\b.*\b(?:my|me|i|i'm|im)\b|\b(?:my|i)\b.*\b(?:again|remember|recall|forgot|called)\b")
def _asked_about(nouns: str) -> tuple[re.Pattern[str], ...]:
    """A pet's or a kinsman's name asked back: who is my sister, my dog's name, what's my dog called,
    remember my dog; never a line that only mentions one ("my gran used to say...")."""
    return (re.compile(rf"\bwho(?:'s| is| was) my ({nouns})\b"),
            re.compile(rf"\bmy ({nouns})(?:'s name|\s+(?:was |is )?(?:called|named))"),
            re.compile(rf"\b(?:what(?:'s| is| was)|remember|recall|forgot|forget)(?: the name of)? my ({nouns})\b"),
            re.compile(rf"\bname of my ({nouns})\b"))


_RECALL_KEYS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bmy name\b|\bwho am i\b|\bwho i am\b|\bwhat(?:'s| is) me name\b|\bwhat am i called\b"), "name"),
    *((pattern, "pet:{}") for pattern in _asked_about(_PET)),
    (re.compile(r"\bmy (?:trade|job|work|line of work|craft|profession)\b|\bwhat (?:do )?i do (?:for (?:a living|work|money|coin|my keep)|to earn)\b"), "trade"),
    (re.compile(r"\bwhat (?:did|have) i (?:lose|lost)\b|\bwhat i(?:'d| had| have)? lost\b|\bi (?:lost|lose)\b(?! my way)"), "lost:"),
    *((pattern, "kin:{}") for pattern in _asked_about("|".join(KIN))),
    (re.compile(r"\bwho did i (?:say|tell you)\b|\bwho(?:'s| is| am i| i'm| im)? (?:i'm |im |i am )?(?:coming|meeting|waiting|visiting|here to see)"
                r"(?: (?:to meet|for))? ?(?:me)?\b"), "kin:"),
)


def fact_answer(fact: Fact) -> str | None:
    """The words a reply that says this fact back must hold (a name, a trade, the thing lost), or
    None for a fact that is not said back by a word (a debt, a promise, a goal)."""
    kind = fact.key.split(":", 1)[0]
    if kind in {"name", "pet", "kin"}:
        found = re.search(r"(?:is called|is) (.+?)\.$", fact.text)
        return found.group(1) if found else None
    if kind == "trade":
        found = re.search(r"is an? (.+?) by trade\.$", fact.text)
        return found.group(1) if found else None
    if kind == "lost":
        return fact.key.split(":", 1)[1] or None
    return None


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
