"""The questions players put to one NPC, and the lines that ask them: how the reply cache reaches
past the canonical tavern questions and past exact signatures.

Content editors write, for each NPC, the questions players often ask it, each with a handful of
phrasings (`Npc.asked` in the admin; `asked` in the world file). `gameplay` passes them here as
plain values (`Asked`). A line that is no canonical question (`matcher.py`) asks one of them when
all of this holds, for the nearest question by embedding (its closest phrasing; the canonical
questions' exemplars compete too, and a line nearest to one of those asks nothing here: the
canonical word guard has already turned it down):

- it is close enough (`MIN_SCORE`), and clear of the runner-up (`MIN_MARGIN`);
- it asks the same kind of question: a line asking who, where, when, why, what, how or a price asks
  it of a question some phrasing of which asks it too ("When is the Captain in?" is not "Where does
  she sit?", "What's on the notice board?" is not "Who writes the notices?"; a yes-or-no line may
  ask any, but one that asks what the NPC does, "Are you leaving on the ferry?", asks only a
  question some phrasing of which asks it of the NPC);
- its known concepts (`signature.py`: the world's people, places and things, tense, "my", a negation
  and the synonym groups) all occur in the question's phrasings, but for a few that never change
  what is asked (`SOFT`); and it holds the question's core, the concepts most of its phrasings share
  ("past" for "What was Hennet like?": "What is Gareth like?" asks something else);
- a word the phrasings never use raises the score it needs (`PER_NEW_WORD` each): a line that only
  sounds like a question but asks about something new ("Can I bet on credit?") is not it.

A line this close to a phrasing (`EXACT`) is that phrasing's question, whatever its words. An NPC's
question whose own text the canonical matcher reads as a canonical question is that question for
this NPC: its phrasings widen it, and its key stays the canonical one, so both routes share one
reply. The other way round, a canonical question that the matcher reads in the phrasings of one of
the NPC's questions (and of no other, and that no question's own text is) is that NPC question for
this NPC (`asked_owner`): Gareth's editors put "What's there to drink?" under "What have you got to
drink, and what does it cost?", so every line that asks him the canonical drinks question gets that
question's reply, and the two routes cannot split one question into two keys.
Otherwise the key is the question's own ("a:<hash of its text>"), and the model is asked the
question's text, so the kept reply fits every phrasing.
"""
from __future__ import annotations

import functools
import hashlib
import re
import threading
from collections import Counter
from dataclasses import dataclass

import numpy as np

from llm import embeddings
from llm.lru import BoundedLRU

from .lexicon import CLASSES
from .matcher import question_match, signature_match, vocative_free
from .questions import QUESTIONS, QUESTIONS_BY_KEY
from .signature import Aliases, plain_words, signature, slips_mended

MIN_SCORE = 0.60
MIN_MARGIN = 0.03
PER_NEW_WORD = 0.12
CORE_SHARE = 0.7
EXACT = 0.97  # a line this close to a phrasing is that phrasing
KIN_PER_WORD = 0.08  # an earlier line's question (`kin_match`): more for each word the two do not share
SOFT = frozenset({"your", "you", "need", "request", "neg", "rumour", "vicinity", "tell", "avail", "what", "how",
                  "now_time", "tavern", "town", "people"})
_SELF = re.compile(r"\b(?:i|me|my|mine|myself|im|i'm|i've|i'd|i'll)\b")


@dataclass(frozen=True)
class Asked:
    """One NPC's questions, as plain values: (the question, its phrasings) each."""

    questions: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @functools.cached_property
    def digest(self) -> str:
        return hashlib.sha1(repr(self.questions).encode()).hexdigest()[:16]


def asked_key(question: str) -> str:
    """The reply cache key of an NPC's own question."""
    return "a:" + hashlib.sha1(" ".join(question.lower().split()).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Candidate:
    key: str  # "q:<canonical>" or "a:<hash>"
    question: str | None  # the canonical question's key, when it is one
    text: str  # what the model is asked
    vectors: np.ndarray
    concepts: frozenset[str]  # every concept of every phrasing
    core: frozenset[str]  # known concepts most phrasings share
    leads: frozenset[str | None]  # the kinds of question the phrasings ask
    own: bool  # one of the NPC's questions (else a canonical question, which only competes)


@dataclass(frozen=True)
class AskedMatch:
    """A line's question among an NPC's: its key, what the model is asked, and why (for logs)."""

    key: str
    question: str | None
    text: str
    score: float
    margin: float
    reason: str


def asked_match(line: str, *, names: tuple[str, ...] = (), aliases: Aliases = Aliases(),
                asked: Asked = Asked()) -> AskedMatch | None:
    """The NPC question `line` asks, or None. Takes an embedding: call it off the event loop."""
    known, found = asked_match_known(line, names=names, aliases=aliases, asked=asked)
    if not known:
        found = _decide(line, names, aliases, asked)
        _decisions.put(_decision_key(line, names, aliases, asked), found or _NO_MATCH)
    return found


def asked_warm(*, aliases: Aliases, asked: Asked) -> None:
    """Embed an NPC's phrasings now (the process's warm-up), not on a player's first line to it."""
    if asked.questions:
        _candidates(aliases, asked)
        asked_owner("", asked=asked)


def asked_owner(question: str, *, asked: Asked = Asked()) -> AskedMatch | None:
    """The NPC's own question that the canonical `question` (its key) is, for this NPC, or None
    (see the module's docstring). Reads the NPC's questions the first time (embeddings: off the
    event loop, unless `asked_owner_ready`)."""
    if not asked.questions:
        return None
    key = (asked.digest, embeddings.embedding_model_name())
    found = _owner_maps.get(key)
    if found is None:
        found = _owners(asked)
        _owner_maps.put(key, found)
    return found.get(question)


def asked_owner_ready(*, asked: Asked) -> bool:
    """Whether `asked_owner` answers without reading the NPC's questions (a dictionary lookup)."""
    return not asked.questions or _owner_maps.get((asked.digest, embeddings.embedding_model_name())) is not None


def asked_match_known(line: str, *, names: tuple[str, ...] = (), aliases: Aliases = Aliases(),
                      asked: Asked = Asked()) -> tuple[bool, AskedMatch | None]:
    """(True, the decision) when this line was decided before (no embedding needed), else (False, None)."""
    if not asked.questions:
        return True, None
    found = _decisions.get(_decision_key(line, names, aliases, asked))
    return (False, None) if found is None else (True, None if found is _NO_MATCH else found)


def _decision_key(line: str, names: tuple[str, ...], aliases: Aliases, asked: Asked) -> tuple:
    return (line, names, aliases.digest, asked.digest, embeddings.embedding_model_name())


def _decide(line: str, names: tuple[str, ...], aliases: Aliases, asked: Asked,
            candidates: tuple[Candidate, ...] | None = None) -> AskedMatch | None:
    candidates = candidates or _candidates(aliases, asked)
    vector = embeddings.embed_one(_embedded(line, names, aliases))
    scored = sorted(((float((c.vectors @ vector).max()), c) for c in candidates), key=lambda pair: -pair[0])
    score, best = scored[0]
    margin = score - scored[1][0] if len(scored) > 1 else score
    if not best.own:  # nearest to a canonical question the NPC has no phrasings of: its guard said no
        return None
    if score < EXACT:
        line_concepts = _features(line, names, aliases)
        new_words = line_concepts.unknown - best.concepts
        if line_concepts.lead is not None and line_concepts.lead not in best.leads:
            return None
        if line_concepts.lead is None and "you" in line_concepts.known and "you" not in best.concepts:
            return None  # "Are you leaving on the ferry?" asks what the NPC does; no phrasing asks that
        needed = MIN_SCORE + PER_NEW_WORD * len(new_words)
        if best.key.startswith("s:"):  # an earlier line, one phrasing: a word of it this line lacks counts too
            needed += KIN_PER_WORD * len(new_words) + KIN_PER_WORD * len(best.concepts - line_concepts.unknown - line_concepts.known - SOFT)
        if score < needed or margin < MIN_MARGIN:
            return None
        if (line_concepts.known - best.concepts - SOFT) or (best.core - line_concepts.known):
            return None
    return AskedMatch(key=best.key, question=best.question, text=best.text, score=score, margin=margin,
                      reason=f"{'kin' if best.key.startswith('s:') else 'asked'}:{best.text[:40]}")


def _embedded(text: str, names: tuple[str, ...], aliases: Aliases) -> str:
    """What a line is embedded as: without a vocative, slips mended. The matcher embeds the same
    words (one embedding a line: the model is uncased), but mends slips only towards the NPC's
    names where this mends towards the world's things too: a line with a slip one of them mends
    and the other does not is embedded twice."""
    return slips_mended(vocative_free(text, names), aliases.vocabulary)


def kin_match(line: str, *, names: tuple[str, ...] = (), aliases: Aliases = Aliases(), asked: Asked = Asked(),
              kin: tuple[tuple[str, str], ...] = ()) -> AskedMatch | None:
    """The earlier line, among `kin` ((its reply's key, its words) each: lines whose replies the
    cache holds under their own signature, in this NPC's context), that `line` asks the same as,
    or None; by the rules above, each earlier line a question of one phrasing, competing with the
    NPC's own questions and the canonical ones. Questions only, and only with the same numbers.
    Takes an embedding (a new line's): call it off the event loop."""
    numbers = _question_numbers(line, names)
    if numbers is None:  # "I need a healer" / "I am a healer": statements differ by a word
        return None
    kin = tuple((key, text) for key, text in kin if _question_numbers(text, names) == numbers)
    if not kin:  # "the key to room three" is never "room four"
        return None
    extra = tuple(_kin_candidate(key, text, names, aliases) for key, text in kin)
    return _decide(line, names, aliases, asked, _candidates(aliases, asked) + extra)


@functools.lru_cache(maxsize=4096)  # an earlier line is compared with every new line of its context
def _question_numbers(text: str, names: tuple[str, ...]) -> frozenset[str] | None:
    """The numbers a question names (digits or words), or None when the text asks nothing."""
    words = plain_words(text, names=names)
    if not text.rstrip().endswith("?") and _lead(words) is None:
        return None
    return frozenset(w for w in words if w.isdigit() or w in _NUMBER_WORDS)


_NUMBER_WORDS = frozenset(CLASSES["number"].split())


def _kin_candidate(key: str, text: str, names: tuple[str, ...], aliases: Aliases) -> Candidate:
    cache_key = (key, text, names, aliases.digest, embeddings.embedding_model_name())
    found = _kin.get(cache_key)
    if found is None:
        found = _candidate(key, [text], aliases, text=text, own=True, vectors=embeddings.embed([_embedded(text, names, aliases)]))
        _kin.put(cache_key, found)
    return found


_kin: BoundedLRU = BoundedLRU(2048)  # (key, words, ...) -> its candidate: an earlier line is read once


@dataclass(frozen=True)
class _Features:
    known: frozenset[str]
    unknown: frozenset[str]
    lead: str | None


def _features(text: str, names: tuple[str, ...], aliases: Aliases) -> _Features:
    sig = signature(text, names=names, aliases=aliases)
    known = set(sig.full) - set(sig.unknown)
    if _SELF.search(text.lower()):
        known.add("self")  # the player asking about themselves
    return _Features(known=frozenset(known), unknown=frozenset(sig.unknown), lead=_lead(plain_words(text, names=names)))


def _lead(words: list[str]) -> str | None:
    """The kind of question the line asks: its first question word, read with the word after it
    ("how much" is a price, "what time" a when); None for a yes-or-no question, but one asking
    whether someone is about ("Is Gareth around?", "Have you seen Amos?") asks where."""
    if words[:1] in (["is"], ["are"]) and words[-1:] in (["around"], ["about"], ["in"], ["here"]) or words[:3] in (
            ["have", "you", "seen"], ["has", "anyone", "seen"], ["has", "anybody", "seen"]):
        return "where"
    for i, word in enumerate(words):
        kind = _QUESTION_WORDS.get(word)
        if kind is not None:
            after = words[i + 1] if i + 1 < len(words) else ""
            return _QUESTION_PAIRS.get((kind, after), kind)
    return None


_QUESTION_WORDS = {"what": "what", "which": "what", "whats": "what", "whatcha": "what", "who": "who", "whom": "who",
                   "whose": "who", "where": "where", "when": "when", "why": "why", "how": "how"}
_QUESTION_PAIRS = {("how", "much"): "price", ("how", "dear"): "price", ("how", "many"): "howmany", ("how", "long"): "howlong",
                   ("how", "come"): "why", ("how", "often"): "when", ("what", "gives"): "why", ("what", "time"): "when", ("what", "day"): "when",
                   ("what", "days"): "when", ("what", "night"): "when", ("what", "hour"): "when"}

_index_lock = threading.Lock()
_indexes: BoundedLRU = BoundedLRU(64)  # (aliases, asked, model) -> candidates
_owner_maps: BoundedLRU = BoundedLRU(64)  # (asked, model) -> {canonical question: the NPC's question}


def _candidates(aliases: Aliases, asked: Asked) -> tuple[Candidate, ...]:
    key = (aliases.digest, asked.digest, embeddings.embedding_model_name())
    with _index_lock:
        found = _indexes.get(key)
        if found is None:
            found = _build(aliases, asked)
            _indexes.put(key, found)
        return found


def _owners(asked: Asked) -> dict[str, AskedMatch]:
    """Canonical question -> the one NPC question whose phrasings the canonical matcher reads as it
    (read without the world's names: a phrasing is plain words, and the same in every world)."""
    reads = {text: question_match(text).question for text, _ in asked.questions}  # the canonical one each text is
    linked = set(reads.values()) - {None}
    claims: dict[str, set[str]] = {}
    for text, phrasings in asked.questions:
        if reads[text] is not None:
            continue
        for phrasing in phrasings:
            canonical = signature_match(question_match(phrasing), phrasing).question
            if canonical is not None and canonical not in linked:
                claims.setdefault(canonical, set()).add(text)
    return {canonical: AskedMatch(key=asked_key(text), question=None, text=text, score=1.0, margin=1.0,
                                  reason=f"owner:{text[:40]}")
            for canonical, texts in claims.items() if len(texts) == 1 for text in texts}


def _build(aliases: Aliases, asked: Asked) -> tuple[Candidate, ...]:
    texts: dict[str, list[str]] = {f"q:{q.key}": list(q.exemplars) for q in QUESTIONS}
    own_text: dict[str, str] = {}
    for text, phrasings in asked.questions:
        linked = question_match(text).question  # the NPC's question is a canonical one, widened
        key = f"q:{linked}" if linked else asked_key(text)
        texts.setdefault(key, []).extend([text, *phrasings])
        own_text.setdefault(key, text)
    built = []
    for key, phrasings in texts.items():
        canonical = key[2:] if key.startswith("q:") else None
        built.append(_candidate(key, phrasings, aliases, text=QUESTIONS_BY_KEY[canonical].text if canonical else own_text[key],
                                own=key in own_text, vectors=embeddings.embed([p.lower() for p in phrasings])))
    return tuple(built)


def _candidate(key: str, phrasings: list[str], aliases: Aliases, *, text: str, own: bool, vectors: np.ndarray) -> Candidate:
    features = [_features(p, (), aliases) for p in phrasings]
    counts = Counter(c for f in features for c in f.known)
    return Candidate(
        key=key, question=key[2:] if key.startswith("q:") else None, text=text, vectors=vectors,
        concepts=frozenset(c for f in features for c in f.known | f.unknown),
        core=frozenset(c for c, n in counts.items() if n >= CORE_SHARE * len(phrasings)) - SOFT,
        leads=frozenset(f.lead for f in features),
        own=own,
    )


_NO_MATCH = AskedMatch(key="", question=None, text="", score=0.0, margin=0.0, reason="none")
_decisions: BoundedLRU = BoundedLRU(4096)  # a line decided once is decided without an embedding
