"""Canon: the designer-pinned facts of the world (the `CanonFact` model) as plain values, which of
them go into an NPC's prompt for a line, and whether a sentence of a reply contradicts one.

Picking is by the fact's keywords in the player's line, by meaning (an embedding match, for the
facts that ask for it) or always; a fact scoped to some NPCs is never picked for another. The
check is plain word rules, no model, so an editor can predict it (docs/world.md, "Canon"):

- `never`: a statement a reply must not affirm. A clause holding all its content words (any
  ending: "cooks", "cooked", "cooking"; "I"/"me"/"my" for the speaking NPC's own name) with no
  negation in it contradicts the fact.
- `holds`: a statement a reply must not deny. A clause holding all its content words and a
  negation contradicts it.
- `subject` + `value`: a pinned name or number. A clause naming the subject with another name or
  number beside it (and no negation) contradicts it ("my wife Mary", "a room is 5 gold").
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from llm.embeddings.bert import model_dir

logger = logging.getLogger(__name__)
MEANING_MIN = 0.55  # cosine of the line and the fact's text (all-MiniLM-L6-v2) for a meaning match
NAME_WINDOW_AFTER, NAME_WINDOW_BEFORE = 4, 3  # tokens either side of the subject a pinned name is looked for in
NUMBER_WINDOW = 5

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100,
}
STOP_WORDS = frozenset(
    """a an the is are was were be been being am it its it's this that these those of to in on at by for with from
    up down out into onto and or as has have had do does did there here any some his her their our your my""".split()
)
SELF_WORDS = frozenset({"i", "me", "my", "myself", "i'm", "i've", "i'd", "i'll", "mine"})
TITLES = frozenset({"sir", "madam", "lord", "lady", "god", "gods", "mister", "miss", "mistress", "master", "ma'am",
                    "mr", "mrs", "dame", "goodman", "goodwife", "aye", "ha", "hm", "eh", "oh", "ah", "och", "i"})
_NEGATION = re.compile(r"\b(?:no|not|never|nothing|nobody|none|don't|didn't|doesn't|can't|cannot|won't|wouldn't|isn't|"
                       r"wasn't|weren't|aren't|ain't|nor|neither|hardly|haven't|hasn't|hadn't|n't)\b|n't\b", re.IGNORECASE)
# Words that open sentences and are never names ("She was my wife", "Aye, ..."), beside STOP_WORDS.
STARTERS = frozenset("""she he they we you who what which where when why how aye yes no nay well oh ah still now then
    so but once old poor dear sweet mind""".split())
_CLAUSE = re.compile(r"[,;:.!?…—–()\"“”]|\s-\s|\bbut\b|\bthough\b|\balthough\b|\bwhereas\b", re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")


@dataclass(frozen=True)
class CanonDef:
    """One active canon fact, as the prompt builder and the reply checks read it."""

    key: str
    text: str
    keywords: tuple[str, ...] = ()  # lower-case
    meaning: bool = False
    npcs: frozenset[str] = frozenset()  # slugs it applies to; empty: every NPC
    always: bool = False
    priority: int = 0
    subject: str = ""
    value: str = ""
    holds: tuple[str, ...] = ()
    never: tuple[str, ...] = ()

    def applies_to(self, npc_slug: str) -> bool:
        return not self.npcs or npc_slug in self.npcs

    @property
    def checkable(self) -> bool:
        return bool(self.holds or self.never or (self.subject and self.value))


@dataclass(frozen=True)
class CanonPick:
    """A fact chosen for a prompt, and why: "always", "keyword: wife" or "meaning: 0.61"."""

    fact: CanonDef
    why: str


def canon_for_npc(facts: Iterable[CanonDef], npc_slug: str) -> tuple[CanonDef, ...]:
    """The facts an NPC keeps to, highest priority first."""
    return tuple(sorted((f for f in facts if f.applies_to(npc_slug)), key=lambda f: (-f.priority, f.key)))


def canon_pick(facts: Iterable[CanonDef], *, npc_slug: str, line: str,
               meaning: Callable[[str, Sequence[str]], Sequence[float]] | None = None) -> tuple[CanonPick, ...]:
    """The facts this NPC's prompt carries for this line, highest priority first. `meaning(line, texts)`
    gives the similarity of the line to each text (None: no meaning match)."""
    lowered = line.lower()
    picks, unmatched = [], []
    for fact in canon_for_npc(facts, npc_slug):
        keyword = next((k for k in fact.keywords if _keyword_in(k, lowered)), None)
        if fact.always:
            picks.append(CanonPick(fact, "always"))
        elif keyword is not None:
            picks.append(CanonPick(fact, f"keyword: {keyword}"))
        elif fact.meaning:
            unmatched.append(fact)
    if unmatched and meaning is not None and line.strip():
        for fact, score in zip(unmatched, meaning(line, [f.text for f in unmatched])):
            if score >= MEANING_MIN:
                picks.append(CanonPick(fact, f"meaning: {score:.2f}"))
    return tuple(sorted(picks, key=lambda p: (-p.fact.priority, p.fact.key)))


def canon_meaning(line: str, texts: Sequence[str]) -> list[float]:
    """The similarity of the line to each text, with the project's embeddings (memory retrieval and
    the reply cache use the same); all 0 when the line cannot be embedded."""
    from llm import embeddings  # loads its model lazily; picking by keyword needs none of it

    try:
        vectors = embeddings.embed([line, *texts])
    except Exception:  # a meaning match is a bonus: keywords and always-on facts still go in
        logger.warning("canon: the line could not be embedded for a meaning match", exc_info=True)
        return [0.0] * len(texts)
    return [embeddings.similarity(vectors[0], v) for v in vectors[1:]]


def canon_persona_values(values: dict, facts: Iterable[CanonDef], npc_slug: str) -> dict:
    """An NPC's persona values with the canon it keeps to: what the reply cache's persona digest is
    made of, so that a fact saved, changed or deactivated stops every cached reply of the NPCs it
    applies to from matching, in every process at once (each reloads the world on an edit)."""
    kept = [[f.key, f.text, list(f.keywords), f.meaning, f.always, f.priority, f.subject, f.value, list(f.holds),
             list(f.never)] for f in canon_for_npc(facts, npc_slug)]
    return {**values, "canon": kept} if kept else dict(values)


def _keyword_in(keyword: str, lowered: str) -> bool:
    return bool(keyword) and re.search(rf"(?<![\w]){re.escape(keyword)}(?:s|es)?(?![\w])", lowered) is not None


# --- the check -------------------------------------------------------------------------------------
def canon_contradicted(sentence: str, facts: Iterable[CanonDef], *, speaker_words: frozenset[str] = frozenset()
                       ) -> CanonDef | None:
    """The first fact (highest priority first) the sentence contradicts, or None. `speaker_words`:
    the speaking NPC's name words, lower-case (for "I cook eel" said by Magda)."""
    if sentence.rstrip().rstrip("\"'”’)").endswith("?"):
        return None  # a question affirms and denies nothing ("Your wife Mary, you say?")
    facts = tuple(facts)
    said = [_normal(f.text) for f in facts]
    # A clause that says back a fact's own words contradicts none ("...vanished from its hook" is no "tankard on its hook").
    clauses = [(c, _opens(sentence, c)) for c in _CLAUSE.split(sentence)
               if c and c.strip() and not any(_normal(c) in text for text in said)]
    for fact in facts:
        if any(_contradicts(clause, fact, speaker_words, opens=opens) for clause, opens in clauses):
            return fact
    return None


@lru_cache(maxsize=4096)
def _normal(text: str) -> str:
    return " " + " ".join(t.lower() for t in _TOKEN.findall(text)) + " "


def canon_self_contradiction(fact: CanonDef) -> str | None:
    """The first `holds`/`never` statement the fact's own text breaks (an editor's mistake: the check
    would hold back a reply saying the fact), or None."""
    for clause in _CLAUSE.split(fact.text):
        if clause.strip() and _contradicts(clause, fact, frozenset(), opens=_opens(fact.text, clause)):
            return next((p for p in (*fact.never, *fact.holds) if _contradicts(clause, CanonDef(
                key="", text="", never=(p,) if p in fact.never else (), holds=(p,) if p in fact.holds else ()), frozenset())),
                        f"{fact.subject} = {fact.value}")
    return None


def _opens(sentence: str, clause: str) -> bool:
    """Whether the clause opens a sentence (its first word is capitalised as any would be)."""
    at = sentence.find(clause)
    before = sentence[:at].rstrip()
    return not before or before[-1] in ".!?…\"“"


def _contradicts(clause: str, fact: CanonDef, speaker_words: frozenset[str], *, opens: bool = True) -> bool:
    tokens = _TOKEN.findall(clause)
    stems = {_stem(t) for t in tokens}
    negated = bool(_NEGATION.search(clause))
    if not negated and any(_holds_all(phrase, stems, speaker_words) for phrase in fact.never):
        return True
    if negated and any(_holds_all(phrase, stems, speaker_words) for phrase in fact.holds if not _NEGATION.search(phrase)):
        return True
    if fact.subject and fact.value and not negated:
        return _other_value(tokens, fact, speaker_words, opens=opens)
    return False


def _holds_all(phrase: str, stems: set[str], speaker_words: frozenset[str]) -> bool:
    words = _content(phrase)
    if not words:
        return False
    for word in words:
        if word in stems or (word in speaker_words and stems & SELF_WORDS):
            continue
        return False
    return True


@lru_cache(maxsize=4096)  # a fact's phrases, checked against every sentence of every reply
def _content(phrase: str) -> tuple[str, ...]:
    return tuple(_stem(t) for t in _TOKEN.findall(phrase) if t.lower() not in STOP_WORDS)


@lru_cache(maxsize=16384)
def _stem(word: str) -> str:
    """A word without case, possessive or common ending: "cooks", "cooked", "cooking" -> "cook"."""
    w = word.lower().replace("’", "'").removesuffix("'s").strip("'-")
    for suffix in ("ing", "ed", "es", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            return w[: -len(suffix)]
    return w


def _other_value(tokens: list[str], fact: CanonDef, speaker_words: frozenset[str], *, opens: bool) -> bool:
    subject = set(_content(fact.subject))
    heads = [i for i, t in enumerate(tokens) if _stem(t) in subject]
    if not heads:
        return False
    amount = fact.value.split()
    if amount and _number(amount[0]) is not None:  # "8", or "8 gold": then only figures in gold count
        return _other_number(tokens, heads, _number(amount[0]), unit=_stem(amount[1]) if len(amount) > 1 else None)
    # The value, the subject, the speaker, and every name the fact's own text uses ("the Rusted Tankard").
    allowed = {_stem(w) for w in _TOKEN.findall(f"{fact.value} {fact.subject}")} | speaker_words
    allowed |= {_stem(w) for w in _TOKEN.findall(fact.text) if w[:1].isupper() and not w.replace("’", "'").endswith("'s")}
    for head in heads:
        for i in range(max(0, head - NAME_WINDOW_BEFORE), min(len(tokens), head + NAME_WINDOW_AFTER + 1)):
            if i != head and _is_other_name(tokens, i, allowed, opens=opens, subject=subject):
                return True
    return False


def _is_other_name(tokens: list[str], i: int, allowed: set[str], *, opens: bool, subject: set[str]) -> bool:
    token = tokens[i]
    lowered = token.lower()
    if not token[:1].isupper() or lowered in TITLES or _stem(token) in allowed or lowered in SELF_WORDS:
        return False
    if lowered.replace("’", "'").endswith("'s"):
        return False  # an owner ("Gareth's wife"), not the value
    if i == 0 and opens and (lowered in STARTERS or lowered in STOP_WORDS):
        return False  # a sentence's first word, capitalised as any
    if i == 0 and opens and lowered in english_words():
        following = tokens[i + 1].lower() if i + 1 < len(tokens) else ""
        return following in ("was", "is", "were") or _stem(following) in subject  # "Mary was my wife", "Tobias built it"
    return True


def _number(text: str) -> int | None:
    raw = text.strip().lower()
    return int(raw) if raw.isdigit() else NUMBER_WORDS.get(raw)


def _other_number(tokens: list[str], heads: list[int], value: int, *, unit: str | None) -> bool:
    found = [(min(abs(i - h) for h in heads), n) for i, t in enumerate(tokens) if (n := _number(t)) is not None
             and (unit is None or (i + 1 < len(tokens) and _stem(tokens[i + 1]) == unit))]
    found = [(d, n) for d, n in found if d <= NUMBER_WINDOW]
    return bool(found) and min(found)[1] != value


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Whole words of the embedding model's vocabulary (30k, lower-case): a cheap English lexicon."""
    try:
        vocab = (model_dir() / "vocab.txt").read_text(encoding="utf-8").split()
    except OSError:
        return frozenset()
    return frozenset(word for word in vocab if word.isalpha())


def canon_restatement(fact: CanonDef) -> str:
    """The fact said again to the model after a reply contradicted it."""
    return f"This is true, and you never say otherwise: {fact.text}"
