"""Deciding which canonical question a player's line asks, if any: the reply cache's notion of
"the same question".

Two checks must agree. The guard (`lexicon.py`) lets a question through only when every
distinctive word of the line is one the question allows: the right topic, no other time, tense,
negation, request, number, name or unknown content word. The nearest-neighbour search then
embeds the line and scores each question by its closest exemplar; the nearest question must be
one the guard let through, close enough (`MIN_SCORE`) and clear of the runner-up (`MIN_MARGIN`).
A line whose content words are exactly an exemplar's needs no embedding (the guard already holds).
Lines that match no question are keyed by what they ask (`signature_match`, `signature.py`): two
lines with the same concepts share a reply ("how mutch is a rooom" and "What's a room go for?"); a
line whose concepts are exactly a canonical exemplar's asks that question ("who r u"). A line with no
concept left is keyed by its normalised text, so only a repeat of the very same words can share it.
The thresholds are measured, not guessed: docs/benchmarks.md, "Reply cache".

A decision that took an embedding is also kept in the Django cache (Redis in production), under
a key made of the line, the names, the thresholds, the embedding model and a digest of the
matcher's own code: another process, or this one after a restart, decides the same phrasing
without a model pass; a change to the questions, the lexicon or the thresholds asks anew.
A decision can also be begun ahead of the ask (`question_match_begin`), on the matcher's own
threads, so that a new phrasing's embedding runs while the rest of the turn does.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.cache import cache

from llm import embeddings
from llm.lru import BoundedLRU

from .lexicon import Word, line_words, normalise, strip_vocatives
from .questions import QUESTIONS, QUESTIONS_BY_KEY, Question
from .signature import Aliases, exemplar_signatures, signature, signature_warm, slips_mended

logger = logging.getLogger(__name__)

MIN_SCORE = 0.55
MIN_MARGIN = 0.05
MATCH_CACHE_SIZE = 4096
EARLY_THREADS = 2


@dataclass(frozen=True)
class QuestionMatch:
    """The outcome for one line: `key` names what the line asks ("q:<question>" or "t:<hash>")."""

    key: str
    question: str | None  # the canonical question's key, when there is one
    prompt_line: str  # the words put to the model: the canonical question's text, or the line
    score: float = 0.0
    margin: float = 0.0
    reason: str = ""  # why no canonical question: "guard:<word>", "score", "margin", "nearest:<key>"


def guard_veto(question: Question, words: tuple[Word, ...], tokens: frozenset[str] = frozenset()) -> str | None:
    """Why `words` (a line's content words; `tokens`: all its normalised words) cannot mean exactly
    `question` (a short reason), or None when they may."""
    vocabulary = _vocabulary(question)
    for word in words:
        if word.cls is not None:
            if word.cls not in question.allows:
                return f"{word.cls}:{word.stem}"
        elif word.stem not in vocabulary:
            return f"word:{word.stem}"
    for group in question.needs:
        if not (any(w.cls in group or w.stem in group for w in words) or group & tokens):
            return "needs"
    return None


def question_match(line: str, *, names: tuple[str, ...] = (), others: tuple[str, ...] = ()) -> QuestionMatch:
    """The canonical question `line` asks, or its own text key. `names`: how the addressed NPC may
    be called (dropped as a vocative); `others`: name words of everyone else (never a match)."""
    key = _cache_key(line, names, others)
    found = _matches.get(key)
    if found is None:
        early = _early.pop(key)
        if early is not None and not early.cancel():  # begun, and under way: its decision is this one
            return early.result()
        found = _decide(key, line, names, others)
    return found


def question_match_begin(line: str, *, names: tuple[str, ...] = (), others: tuple[str, ...] = ()) -> None:
    """Begin deciding what `line` asks on the matcher's own threads, and return at once: the
    embedding a new phrasing needs then runs while the caller prepares the rest of the turn, and
    `question_match` takes the decision (waiting for it if it is still under way) instead of making
    it again. One not yet started when it is asked for is made by the asker, never waited for."""
    key = _cache_key(line, names, others)
    if _matches.get(key) is None and _early.get(key) is None:
        _early.put(key, early_pool().submit(_decide, key, line, names, others))


def _decide(key: tuple, line: str, names: tuple[str, ...], others: tuple[str, ...]) -> QuestionMatch:
    undecided = _undecided.pop(key) or _lexical(line, names, others)
    if isinstance(undecided, QuestionMatch):
        found = undecided
    else:  # an embedding decides: unless a process has decided this phrasing already
        shared = _shared_key(key)
        found = _shared_get(shared)
        if found is None:
            found = _semantic(line, names, undecided)
            _shared_put(shared, found)
    _matches.put(key, found)
    return found


def question_match_quick(line: str, *, names: tuple[str, ...] = (), others: tuple[str, ...] = ()) -> QuestionMatch | None:
    """The match when it needs no embedding (a line seen before, or decided by its words alone:
    about a millisecond of pure Python, fine on an event loop); None when it needs one, or when
    its decision was begun (`question_match_begin`) and is still under way."""
    key = _cache_key(line, names, others)
    found = _matches.get(key)
    if found is None and _early.get(key) is None:
        lexical = _lexical(line, names, others)
        if isinstance(lexical, QuestionMatch):
            _matches.put(key, lexical)
            found = lexical
        else:
            _undecided.put(key, lexical)  # the guard's verdicts, for `question_match` to go on from
    return found


def _cache_key(line: str, names: tuple[str, ...], others: tuple[str, ...]) -> tuple:
    return (line, names, others, embeddings.embedding_model_name())


def _shared_key(key: tuple) -> str:
    decided_by = (_MATCHER_DIGEST, MIN_SCORE, MIN_MARGIN, key)
    return "reply:match:" + hashlib.sha1(repr(decided_by).encode()).hexdigest()


def _shared_get(shared: str) -> QuestionMatch | None:
    try:
        data = cache.get(shared)
        return QuestionMatch(**data) if isinstance(data, dict) else None
    except Exception:  # the cache down, or a stored value of another shape: decide here
        logger.warning("reply cache: shared match decisions unavailable", exc_info=True)
        return None


def _shared_put(shared: str, found: QuestionMatch) -> None:
    try:
        cache.set(shared, dataclasses.asdict(found), settings.TANKARD_REPLY_CACHE["SHARED_TTL"])
    except Exception:
        logger.warning("reply cache: shared match decisions unavailable", exc_info=True)


def signature_match(found: QuestionMatch, line: str, *, names: tuple[str, ...] = (), aliases: Aliases = Aliases()) -> QuestionMatch:
    """`found` (the canonical decision) when it is a canonical question; else the question the line's
    signature asks: a canonical one when the signature is an exemplar's, or the signature's own key.
    A line with nothing distinctive keeps its text key."""
    if found.question is not None:
        return found
    key = (line, names, aliases.digest)
    decided = _signatures.get(key)
    if decided is None:
        decided = _signature_decide(found, line, names, aliases)
        _signatures.put(key, decided)
    return decided


def _signature_decide(found: QuestionMatch, line: str, names: tuple[str, ...], aliases: Aliases) -> QuestionMatch:
    sig = signature(line, names=names, aliases=aliases)
    if sig.empty:
        return found
    canonical = exemplar_signatures().get(sig.full_key())
    if canonical is not None:
        return _matched(QUESTIONS_BY_KEY[canonical], line, names, score=1.0, margin=1.0, reason="match:exemplar-signature")
    return QuestionMatch(key=sig.key(), question=None, prompt_line=line, score=found.score, margin=found.margin,
                         reason=f"signature ({found.reason})")


def text_key(line: str, *, names: tuple[str, ...] = ()) -> str:
    """The key of a line that matches no canonical question: its normalised words."""
    return "t:" + hashlib.sha1(normalise(line, names=names).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class _Undecided:
    """The guard's verdicts, when the words alone cannot decide and the embedding must."""

    own: QuestionMatch
    vetoes: dict
    allowed: tuple[Question, ...]


def _lexical(line: str, names: tuple[str, ...], others: tuple[str, ...]) -> QuestionMatch | _Undecided:
    own = QuestionMatch(key=text_key(line, names=names), question=None, prompt_line=line)
    words = line_words(line, names=names)
    other_words = {w.lower() for w in others}
    if any(w.stem in other_words for w in words):
        return _own(own, "guard:name")
    tokens = frozenset(normalise(line, names=names).split())
    vetoes = {q.key: guard_veto(q, words, tokens) for q in QUESTIONS}
    allowed = tuple(q for q in QUESTIONS if vetoes[q.key] is None)
    if not allowed:
        return _own(own, "guard")
    known = _SIGNATURES.get(_signature(words))
    if known is not None and len(known) == 1 and known[0] in allowed:
        return _matched(known[0], line, names, score=1.0, margin=1.0, reason="match:exemplar-words")
    return _Undecided(own=own, vetoes=vetoes, allowed=allowed)


def _semantic(line: str, names: tuple[str, ...], undecided: QuestionMatch | _Undecided) -> QuestionMatch:
    if isinstance(undecided, QuestionMatch):
        return undecided
    own, vetoes, allowed = undecided.own, undecided.vetoes, undecided.allowed
    scores = _index().scores(slips_mended(vocative_free(line, names), _unmendable(names)))
    best = max(QUESTIONS, key=lambda q: scores[q.key])
    rivals = [scores[q.key] for q in allowed if q is not best]
    score = scores[best.key]
    margin = score - max(rivals) if rivals else score
    if vetoes[best.key] is not None:
        return _own(own, f"nearest:{best.key}", score, margin)
    if score < MIN_SCORE:
        return _own(own, "score", score, margin)
    if margin < MIN_MARGIN:
        return _own(own, "margin", score, margin)
    return _matched(best, line, names, score=score, margin=margin, reason="match")


def _matched(question: Question, line: str, names: tuple[str, ...], *, score: float, margin: float, reason: str) -> QuestionMatch:
    same_words = normalise(line, names=names) == normalise(question.text)
    return QuestionMatch(key=f"q:{question.key}", question=question.key, prompt_line=line if same_words else question.text,
                         score=score, margin=margin, reason=reason)


def _signature(words: tuple[Word, ...]) -> tuple[str, ...]:
    return tuple(sorted(w.stem for w in words))


def _exemplar_signatures() -> dict[tuple[str, ...], tuple[Question, ...]]:
    """Content words of each exemplar -> its questions. A line with exactly an exemplar's content
    words (only articles, pronouns, modal verbs and the like differ) needs no embedding."""
    owners: dict[tuple[str, ...], list[Question]] = {}
    for question in QUESTIONS:
        for text in question.exemplars:
            found = owners.setdefault(_signature(line_words(text)), [])
            if question not in found:
                found.append(question)
    return {signature: tuple(questions) for signature, questions in owners.items()}


def _own(own: QuestionMatch, reason: str, score: float = 0.0, margin: float = 0.0) -> QuestionMatch:
    return QuestionMatch(key=own.key, question=None, prompt_line=own.prompt_line, score=score, margin=margin, reason=reason)


@functools.lru_cache(maxsize=256)
def _unmendable(names: tuple[str, ...]) -> frozenset[str]:
    """The NPC's names as words, which no slip-mending may change ("Wren" is not "when")."""
    return frozenset(word.lower() for name in names for word in name.split())


def vocative_free(line: str, names: tuple[str, ...]) -> str:
    """The words to embed: without a vocative; else the line as said (the model is uncased), so the
    embedding the memory path makes of the same line comes from the embedding cache."""
    stripped = strip_vocatives(line.lower(), names).strip()
    return stripped if stripped and stripped != line.lower().strip() else line.strip()


def _vocabulary(question: Question) -> frozenset[str]:
    """The content words of no class that a question knows: its exemplars' and its own `words`."""
    return _VOCABULARIES[question.key]


_VOCABULARIES: dict[str, frozenset[str]] = {
    q.key: frozenset({w.stem for text in q.exemplars for w in line_words(text) if w.cls is None} | q.words) for q in QUESTIONS
}


class _Index:
    """Exemplar vectors of every question, embedded once per process and model."""

    def __init__(self, model: str) -> None:
        texts = [text for q in QUESTIONS for text in q.exemplars]
        self.model = model
        self.owners = np.array([i for i, q in enumerate(QUESTIONS) for _ in q.exemplars])
        self.matrix = embeddings.embed([t.lower() for t in texts])

    def scores(self, line: str) -> dict[str, float]:
        sims = self.matrix @ embeddings.embed_one(line)
        best = np.full(len(QUESTIONS), -1.0, dtype=np.float32)
        np.maximum.at(best, self.owners, sims)
        return {q.key: float(best[i]) for i, q in enumerate(QUESTIONS)}


_index_lock = threading.Lock()
_index_holder: list[_Index] = []


def _index() -> _Index:
    model = embeddings.embedding_model_name()
    with _index_lock:
        if not _index_holder or _index_holder[0].model != model:
            _index_holder[:] = [_Index(model)]
        return _index_holder[0]


def index_warm() -> None:
    """Embed the exemplars now (a background job's first step), not on a player's first line; and
    read the signature's word lists."""
    _index()
    signature_warm()


_matches: BoundedLRU = BoundedLRU(MATCH_CACHE_SIZE)  # a line seen before costs no embedding
_signatures: BoundedLRU = BoundedLRU(MATCH_CACHE_SIZE)  # and no second reading of its words
_undecided: BoundedLRU = BoundedLRU(64)  # lines the quick check left to the embedding: their words are read once
_early: BoundedLRU = BoundedLRU(64)  # decisions begun ahead of the ask (`question_match_begin`)
_early_lock = threading.Lock()
_early_pool_holder: list[ThreadPoolExecutor] = []


def early_pool() -> ThreadPoolExecutor:
    """Two threads: a second player's new phrasing need not queue behind the first's."""
    with _early_lock:
        if not _early_pool_holder:
            _early_pool_holder.append(ThreadPoolExecutor(max_workers=EARLY_THREADS, thread_name_prefix="reply-match"))
        return _early_pool_holder[0]


_SIGNATURES = _exemplar_signatures()
# The matcher's code (questions, lexicon, this module): shared decisions made by other code are not used.
_MATCHER_DIGEST = hashlib.sha1(b"".join(
    (Path(__file__).parent / name).read_bytes() for name in ("matcher.py", "lexicon.py", "questions.py")
)).hexdigest()
