"""Reads of NPC memory, returned as frozen values: what to recall for a prompt, and the recent turns.

`memory_retrieve` reads nothing but the ledger's version and any records appended since the
cached matrix was built (usually two small queries), embeds the query (served from the
embedding cache when the line was embedded before) and scores with numpy. It writes nothing:
the caller reports what it used with `services.memory_mark_used`.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Callable

import numpy as np

from llm import embeddings

from .archive import archive_unpack
from .conf import memory_config
from .models import RAW_KINDS, TURN, MemoryArchive, MemoryLedger, MemoryRecord
from .retrieval import (
    MemoryMatrix,
    Weights,
    eligible_mask,
    matrix_cache,
    matrix_from_rows,
    memory_rank,
    memory_scores,
    why_chosen,
)

_MATRIX_FIELDS = ("id", "kind", "text", "importance", "embedding", "pinned", "game_minute", "last_used_minute")


@dataclass(frozen=True)
class RecalledMemory:
    id: int
    kind: str  # "turn", "observation", "fact" or "summary"
    text: str
    importance: float
    game_minute: int
    pinned: bool
    recency: float  # 0..1, halves every RECENCY_HALF_LIFE game minutes since last use
    relevance: float  # cosine similarity to the query
    score: float  # the weighted sum it was ranked by
    why: str  # why it was chosen, for the prompt inspector


def memory_retrieve(
    *,
    game_id: uuid.UUID | str,
    npc_slug: str,
    query: str,
    now_minute: int,
    token_budget: int,
    count_tokens: Callable[[str], int],
    limit: int = 40,
    skip_recent_turns: int = 12,
    query_vector: np.ndarray | None = None,
) -> tuple[RecalledMemory, ...]:
    """The memories to put in the NPC's prompt, best first; pinned facts first, within the budget.

    The sum of `count_tokens(m.text)` never exceeds `token_budget`. The newest `skip_recent_turns`
    turns are left out: the prompt shows them as the recent conversation (`memory_recent_turns`).
    `query_vector` saves embedding `query` when the caller has its embedding already (the same
    text is also served from the embedding cache).
    """
    if token_budget <= 0 or limit <= 0:
        return ()
    matrix = memory_matrix(game_id=game_id, npc_slug=npc_slug)
    if matrix is None or matrix.size == 0:
        return ()
    config = memory_config()
    weights = Weights(config.weight_recency, config.weight_importance, config.weight_relevance, config.recency_half_life)
    eligible = eligible_mask(matrix, skip_recent_turns=skip_recent_turns)
    if query_vector is None and query.strip():
        query_vector = embeddings.embed_one(query)
    scores = memory_scores(matrix, query_vector, now_minute=now_minute, weights=weights, eligible=eligible)
    chosen = memory_rank(
        texts=matrix.texts, score=scores.score, pinned=matrix.pinned, eligible=eligible,
        token_budget=token_budget, count_tokens=count_tokens, limit=limit, pinned_share=config.pinned_share,
    )
    return tuple(
        RecalledMemory(
            id=int(matrix.ids[i]), kind=matrix.kinds[i], text=matrix.texts[i],
            importance=round(float(matrix.importance[i]), 4), game_minute=int(matrix.minute[i]),
            pinned=bool(matrix.pinned[i]), recency=round(float(scores.recency[i]), 4),
            relevance=round(float(scores.relevance[i]), 4), score=round(float(scores.score[i]), 4),
            why=why_chosen(scores, i, kind=matrix.kinds[i], pinned=bool(matrix.pinned[i])),
        )
        for i in chosen
    )


def memory_matrix(*, game_id: uuid.UUID | str, npc_slug: str) -> MemoryMatrix | None:
    """The (game, NPC)'s records as a matrix, from the process cache when still valid; None if none."""
    key = (str(game_id), npc_slug)
    cache = matrix_cache()
    ledger = MemoryLedger.objects.filter(game_id=key[0], npc_slug=npc_slug).values_list("version", "raw_count").first()
    if ledger is None:
        cache.drop(key)
        return None
    version, raw_count = ledger
    matrix = cache.get(key)
    if matrix is not None and matrix.version == version:
        newer = _load(key, version=version, after_id=matrix.max_id, dim=matrix.vectors.shape[1])
        if newer.size:
            matrix = matrix.appended(newer)
        # An append committed out of id order would be missed: the raw count tells.
        if int(matrix.is_raw.sum()) == raw_count:
            if newer.size:
                cache.put(key, matrix)
            return matrix
    matrix = _load(key, version=version, after_id=0, dim=None)
    cache.put(key, matrix)
    return matrix


def _load(key: tuple[str, str], *, version: int, after_id: int, dim: int | None) -> MemoryMatrix:
    rows = list(
        MemoryRecord.objects.filter(game_id=key[0], npc_slug=key[1], id__gt=after_id).order_by("id").values_list(*_MATRIX_FIELDS)
    )
    return matrix_from_rows(rows, version=version, dim=dim)


def memory_recent_turns(*, game_id: uuid.UUID | str, npc_slug: str, limit: int = 12) -> tuple[tuple[str, str], ...]:
    """(speaker, text) of the newest raw turns, oldest first; speaker is "player" or "npc"."""
    rows = MemoryRecord.objects.filter(game_id=str(game_id), npc_slug=npc_slug, kind=TURN).order_by("-id")
    return tuple(reversed(list(rows.values_list("speaker", "text")[:limit])))


@dataclass(frozen=True)
class MemoryFootprint:
    records: int
    facts: int
    summaries: int
    raw: int
    archives: int
    archived_records: int
    database_bytes: int  # text, embeddings and archive blobs


def memory_footprint(*, game_id: uuid.UUID | str, npc_slug: str, limit: int = 10_000) -> MemoryFootprint:
    """How much one (game, NPC) keeps (for the admin, health checks and the benchmark)."""
    records = MemoryRecord.objects.filter(game_id=str(game_id), npc_slug=npc_slug).values_list("kind", "text", "embedding")[:limit]
    kinds: dict[str, int] = {}
    size = 0
    for kind, text, embedding in records:
        kinds[kind] = kinds.get(kind, 0) + 1
        size += len(text.encode()) + len(embedding) + 64
    archives = list(MemoryArchive.objects.filter(game_id=str(game_id), npc_slug=npc_slug).values_list("rows", "data")[:limit])
    size += sum(len(data) + 48 for _, data in archives)
    return MemoryFootprint(
        records=sum(kinds.values()), facts=kinds.get("fact", 0), summaries=kinds.get("summary", 0),
        raw=sum(kinds.get(k, 0) for k in RAW_KINDS), archives=len(archives),
        archived_records=sum(rows for rows, _ in archives), database_bytes=size,
    )


def memory_archived_records(*, game_id: uuid.UUID | str, npc_slug: str, limit: int = 500) -> tuple[dict, ...]:
    """The newest archived raw records, oldest first: {kind, speaker, minute, importance, text}."""
    found: list[dict] = []
    for data in MemoryArchive.objects.filter(game_id=str(game_id), npc_slug=npc_slug).order_by("-first_minute", "-id").values_list("data", flat=True):
        found[:0] = archive_unpack(bytes(data))
        if len(found) >= limit:
            break
    return tuple(found[-limit:])
