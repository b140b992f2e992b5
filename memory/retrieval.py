"""Scoring memories for a query, and the per-process cache of each (game, NPC)'s stacked vectors.

A `MemoryMatrix` holds one (game, NPC)'s records as numpy arrays, so scoring 5,000 memories is a
few vector operations, not a loop. `matrix_cache` is a bounded LRU (by bytes) of matrices; an
entry is valid while the ledger's version is unchanged, and records appended since it was built
are added to it rather than reloaded. `memory_rank` is pure: arrays in, the chosen indices out.
"""
from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from llm.embeddings import EMBEDDING_DIM

from .conf import memory_config
from .models import RAW_KINDS, TURN

_TEXT_OVERHEAD = 56  # bytes of a Python str object beyond its characters


@dataclass(frozen=True)
class MemoryMatrix:
    """One (game, NPC)'s records, sorted by id; never mutated (changes make a new matrix)."""

    version: int
    ids: np.ndarray  # int64
    vectors: np.ndarray  # float32 (n, dim), rows L2-normalised (zero rows for unusable embeddings)
    importance: np.ndarray  # float32
    minute: np.ndarray  # int64, game minute it happened
    last_used: np.ndarray  # int64, game minute it was last recalled (or happened)
    pinned: np.ndarray  # bool
    is_turn: np.ndarray  # bool
    is_raw: np.ndarray  # bool (turns and observations)
    pending: np.ndarray  # bool: recorded before its embedding (a zero row until filled)
    kinds: tuple[str, ...]
    texts: tuple[str, ...]
    text_bytes: int = 0  # characters of `texts` plus Python's per-string overhead

    @property
    def size(self) -> int:
        return len(self.texts)

    @property
    def max_id(self) -> int:
        return int(self.ids[-1]) if self.size else 0

    @property
    def nbytes(self) -> int:
        arrays = (self.ids, self.vectors, self.importance, self.minute, self.last_used, self.pinned, self.is_turn, self.is_raw,
                  self.pending)
        return sum(a.nbytes for a in arrays) + self.text_bytes + 16 * self.size

    def appended(self, other: MemoryMatrix) -> MemoryMatrix:
        if other.vectors.shape[1] != self.vectors.shape[1] and self.size and other.size:
            other = replace(other, vectors=np.zeros((other.size, self.vectors.shape[1]), np.float32))
        return MemoryMatrix(
            version=self.version,
            ids=np.concatenate([self.ids, other.ids]),
            vectors=np.concatenate([self.vectors, other.vectors]) if self.size else other.vectors,
            importance=np.concatenate([self.importance, other.importance]),
            minute=np.concatenate([self.minute, other.minute]),
            last_used=np.concatenate([self.last_used, other.last_used]),
            pinned=np.concatenate([self.pinned, other.pinned]),
            is_turn=np.concatenate([self.is_turn, other.is_turn]),
            is_raw=np.concatenate([self.is_raw, other.is_raw]),
            pending=np.concatenate([self.pending, other.pending]),
            kinds=self.kinds + other.kinds,
            texts=self.texts + other.texts,
            text_bytes=self.text_bytes + other.text_bytes,
        )

    def used(self, ids: Sequence[int], now_minute: int) -> MemoryMatrix:
        hit = np.isin(self.ids, np.asarray(list(ids), dtype=np.int64))
        return replace(self, last_used=np.where(hit, np.maximum(self.last_used, now_minute), self.last_used))

    def embedded(self, vectors: dict[int, np.ndarray]) -> MemoryMatrix:
        """With the vectors of pending records filled in (by record id; other ids are ignored)."""
        rows = [(i, vectors[int(record_id)]) for i, record_id in enumerate(self.ids) if int(record_id) in vectors]
        rows = [(i, v) for i, v in rows if v.shape[0] == self.vectors.shape[1]]
        if not rows:
            return self
        filled, pending = self.vectors.copy(), self.pending.copy()
        for i, vector in rows:
            filled[i], pending[i] = vector, False
        return replace(self, vectors=filled, pending=pending)


def matrix_from_rows(rows: Sequence[tuple], *, version: int, dim: int | None = None) -> MemoryMatrix:
    """Rows of (id, kind, text, importance, embedding bytes, pinned, game_minute, last_used_minute).

    `dim` defaults to the commonest stored size; vectors of another size (another model's) get zeros,
    and so do records still waiting for their embedding (empty bytes; `pending` marks them).
    """
    n = len(rows)
    blobs = [bytes(row[4]) for row in rows]
    if dim is None:
        sizes = Counter(len(b) for b in blobs if b)
        dim = sizes.most_common(1)[0][0] // 2 if sizes else EMBEDDING_DIM
    vectors = np.zeros((n, dim), dtype=np.float32)
    width = 2 * dim  # float16 storage, see llm.embeddings.to_bytes
    usable = np.fromiter((len(b) == width for b in blobs), dtype=bool, count=n)
    if usable.any():
        packed = b"".join(b for b in blobs if len(b) == width)
        vectors[usable] = np.frombuffer(packed, dtype="<f2").reshape(-1, dim).astype(np.float32)
    kinds = tuple(row[1] for row in rows)
    return MemoryMatrix(
        version=version,
        ids=np.fromiter((row[0] for row in rows), dtype=np.int64, count=n),
        vectors=vectors,
        importance=np.fromiter((row[3] for row in rows), dtype=np.float32, count=n),
        minute=np.fromiter((row[6] for row in rows), dtype=np.int64, count=n),
        last_used=np.fromiter((row[7] for row in rows), dtype=np.int64, count=n),
        pinned=np.fromiter((bool(row[5]) for row in rows), dtype=bool, count=n),
        is_turn=np.fromiter((k == TURN for k in kinds), dtype=bool, count=n),
        is_raw=np.fromiter((k in RAW_KINDS for k in kinds), dtype=bool, count=n),
        pending=np.fromiter((not b for b in blobs), dtype=bool, count=n),
        kinds=kinds,
        texts=tuple(row[2] for row in rows),
        text_bytes=sum(len(row[2]) + _TEXT_OVERHEAD for row in rows),
    )


class MatrixCache:
    """A thread-safe LRU of matrices keyed by (game id, NPC slug), bounded by their total bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, str], MemoryMatrix] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> MemoryMatrix | None:
        with self._lock:
            matrix = self._entries.get(key)
            if matrix is not None:
                self._entries.move_to_end(key)
            return matrix

    def put(self, key: tuple[str, str], matrix: MemoryMatrix) -> None:
        with self._lock:
            self._pop(key)
            if matrix.nbytes > self.max_bytes:
                return
            self._entries[key] = matrix
            self._bytes += matrix.nbytes
            while self._bytes > self.max_bytes:
                self._pop(next(iter(self._entries)))

    def update(self, key: tuple[str, str], change: Callable[[MemoryMatrix], MemoryMatrix]) -> None:
        with self._lock:
            matrix = self._entries.get(key)
        if matrix is not None:
            self.put(key, change(matrix))

    def drop(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._pop(key)

    def drop_game(self, game_id: str) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[0] == game_id]:
                self._pop(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def _pop(self, key: tuple[str, str]) -> None:
        matrix = self._entries.pop(key, None)
        if matrix is not None:
            self._bytes -= matrix.nbytes


_cache: MatrixCache | None = None
_cache_lock = threading.Lock()


def matrix_cache() -> MatrixCache:
    """The process's cache, sized by TANKARD_MEMORY["CACHE_MAX_BYTES"] when first used."""
    global _cache
    with _cache_lock:
        if _cache is None:
            _cache = MatrixCache(memory_config().cache_max_bytes)
        return _cache


@dataclass(frozen=True)
class Weights:
    recency: float
    importance: float
    relevance: float
    half_life: float  # game minutes


@dataclass(frozen=True)
class Scores:
    score: np.ndarray
    recency: np.ndarray  # raw, 0..1
    relevance: np.ndarray  # raw cosine
    parts: dict[str, np.ndarray]  # each weighted, normalised component of the score


RELEVANCE_MIN_SPAN = 0.25  # cosine spread that counts as the full 0..1 range


def _relevance_scaled(cosine: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Min-max over the eligible records (as in Generative Agents), but a spread narrower than
    RELEVANCE_MIN_SPAN is not stretched to 0..1: nearly equal cosines stay nearly equal."""
    if not eligible.any():
        return np.zeros_like(cosine)
    low, high = float(cosine[eligible].min()), float(cosine[eligible].max())
    return np.clip((cosine - low) / max(high - low, RELEVANCE_MIN_SPAN), 0.0, 1.0)


def memory_scores(matrix: MemoryMatrix, query: np.ndarray | None, *, now_minute: int, weights: Weights,
                  eligible: np.ndarray) -> Scores:
    """Weighted sum of recency, importance and relevance, each on a 0..1 scale, for every record.

    Recency (halving every half-life of game time since last use) and importance are absolute
    scales already and are used as they are: min-max stretching would turn a few minutes'
    difference into the whole recency range. Relevance is scaled by `_relevance_scaled`.
    """
    since = np.maximum(0, now_minute - np.maximum(matrix.last_used, matrix.minute)).astype(np.float32)
    recency = np.exp2(-since / np.float32(max(weights.half_life, 1e-6)))
    if query is not None and query.shape[0] == matrix.vectors.shape[1]:
        relevance = matrix.vectors @ query.astype(np.float32)
    else:
        relevance = np.zeros(matrix.size, dtype=np.float32)
    parts = {
        "recent": weights.recency * recency,
        "important": weights.importance * matrix.importance,
        "relevant": weights.relevance * _relevance_scaled(relevance, eligible),
    }
    score = parts["recent"] + parts["important"] + parts["relevant"]
    return Scores(score=score, recency=recency, relevance=relevance, parts=parts)


def eligible_mask(matrix: MemoryMatrix, *, skip_recent_turns: int) -> np.ndarray:
    """Everything but the newest turns (those the prompt shows as the recent conversation)."""
    eligible = np.ones(matrix.size, dtype=bool)
    if skip_recent_turns > 0:
        turns = np.flatnonzero(matrix.is_turn)
        eligible[turns[-skip_recent_turns:]] = False
    return eligible


def memory_rank(*, texts: Sequence[str], score: np.ndarray, pinned: np.ndarray, eligible: np.ndarray,
                token_budget: int, count_tokens: Callable[[str], int], limit: int, pinned_share: float = 1.0) -> list[int]:
    """Indices chosen, best first, every pinned one before every other, within the budget.

    Pinned memories first take up to `pinned_share` of the budget (at least room for the best
    one), then the others fill what is
    left, then pinned ones that did not fit their share take whatever still remains: facts cannot
    crowd everything else out, yet get the whole budget when nothing else needs it. Each group is
    filled greedily by score, trying only its best `4 * limit`, so the Python work is bounded by
    `limit`, not by the number of memories.
    """
    ranked_pinned = _best(np.flatnonzero(eligible & pinned), score, limit)
    ranked_other = _best(np.flatnonzero(eligible & ~pinned), score, limit)
    state = {"left": token_budget, "count": 0}
    share = int(token_budget * pinned_share)
    if ranked_pinned:  # the best pinned memory always gets a chance, even past a small share
        share = max(share, min(count_tokens(texts[ranked_pinned[0]]), token_budget))
    first = _fill(ranked_pinned, share, texts, count_tokens, limit, state)
    others = _fill(ranked_other, state["left"], texts, count_tokens, limit, state)
    taken = set(first)
    rest = _fill([i for i in ranked_pinned if i not in taken], state["left"], texts, count_tokens, limit, state)
    return first + rest + others


def _best(candidates: np.ndarray, score: np.ndarray, limit: int) -> list[int]:
    if len(candidates) > 4 * limit:
        candidates = candidates[np.argpartition(-score[candidates], 4 * limit - 1)[: 4 * limit]]
    return [int(i) for i in candidates[np.argsort(-score[candidates], kind="stable")]]


def _fill(ranked: list[int], cap: int, texts: Sequence[str], count_tokens: Callable[[str], int], limit: int,
          state: dict[str, int]) -> list[int]:
    """Take from `ranked` greedily while within `cap` (and the overall budget and limit)."""
    taken: list[int] = []
    cap = min(cap, state["left"])
    for index in ranked:
        if state["count"] >= limit or cap <= 0:
            break
        cost = count_tokens(texts[index])
        if cost <= cap:
            taken.append(index)
            cap -= cost
            state["left"] -= cost
            state["count"] += 1
    return taken


def why_chosen(scores: Scores, index: int, *, kind: str, pinned: bool) -> str:
    """A short reason for the prompt inspector: what the memory is and what scored it highest."""
    label = "pinned fact, always kept" if pinned else kind
    strongest = max(scores.parts, key=lambda name: float(scores.parts[name][index]))
    return f"{label}; mostly {strongest} (relevance {float(scores.relevance[index]):.2f}, recency {float(scores.recency[index]):.2f})"
