"""Reads of NPC memory, returned as frozen values: what to recall for a prompt, and the recent turns.

`memory_retrieve` reads nothing but the ledger's version and any records appended since the
cached matrix was built (usually two small queries), embeds the query (served from the
embedding cache when the line was embedded before; not at all when no record can be chosen) and
scores with numpy. Records still waiting for their embedding (`embedding_pending`) are read again
or, if still waiting, embedded here when they could be chosen. It writes nothing to the database:
the caller reports what it used with `services.memory_mark_used`. `memory_recall` is what a
prompt needs (the recent turns and the memories) in as few reads as possible.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Callable

import numpy as np

from llm import embeddings
from tankard_db.queries import CompiledQuery

from .archive import archive_unpack
from .conf import memory_config
from .facts import Fact
from .models import FACT, RAW_KINDS, TURN, MemoryArchive, MemoryLedger, MemoryRecord
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


@dataclass(frozen=True)
class MemoryRecall:
    recent: tuple[tuple[str, str], ...]  # (speaker, text) of the newest turns, oldest first
    recalled: tuple[RecalledMemory, ...]  # the older memories chosen, best first


def memory_recall(*, game_id: uuid.UUID | str, npc_slug: str, query: str, now_minute: int, token_budget: int,
                  count_tokens: Callable[[str], int], recent_limit: int = 12, recent_step: int = 0,
                  also: tuple[uuid.UUID | str, ...] = ()) -> MemoryRecall:
    """The recent conversation and the memories to put in a prompt; one read when the NPC
    remembers nothing of this game (a player's first line to them).

    `also` names other owners whose memories of this NPC are recalled beside the game's (a shared
    tavern's public words, the player's own whispers): their turns join the recent conversation in
    the order they happened, and their memories compete with the game's for the same budget. An
    owner not named is never read: what a prompt may draw on is chosen here, by its caller.

    `recent_step` (for one owner): past `recent_limit` turns, the recent window moves on that many
    turns at a time rather than one (it then shows between `recent_limit - recent_step` and
    `recent_limit - 1` turns), so a conversation's prompt keeps starting the same way for several
    turns and a model server that keeps prompt starts reads only what is new."""
    if also:
        return _recall_merged([str(game_id), *(str(o) for o in also)], npc_slug=npc_slug, query=query,
                              now_minute=now_minute, token_budget=token_budget, count_tokens=count_tokens,
                              recent_limit=recent_limit)
    ledger = _ledger(str(game_id), npc_slug)
    if ledger is None:
        matrix_cache().drop((str(game_id), npc_slug))
        return MemoryRecall(recent=(), recalled=())
    recent = memory_recent_turns(game_id=game_id, npc_slug=npc_slug, limit=recent_limit, step=recent_step)
    recalled = memory_retrieve(game_id=game_id, npc_slug=npc_slug, query=query, now_minute=now_minute,
                               token_budget=token_budget, count_tokens=count_tokens, skip_recent_turns=len(recent),
                               ledger=ledger)
    return MemoryRecall(recent=recent, recalled=recalled)


def memory_facts(*, game_id: uuid.UUID | str, npc_slug: str, keys: tuple[str, ...], also: tuple[uuid.UUID | str, ...] = (),
                 limit: int = 20) -> tuple[Fact, ...]:
    """The facts the NPC holds about the player whose keys start with one of `keys` ("" for all),
    from the game and the owners in `also` (`memory_recall`'s), newest first."""
    owners = [str(game_id), *(str(o) for o in also)]
    rows = (MemoryRecord.objects.filter(game_id__in=owners, npc_slug=npc_slug, kind=FACT)
            .order_by("-game_minute", "-id").values_list("key", "text")[:limit])
    return tuple(Fact(key, text) for key, text in rows if any(key.startswith(k) for k in keys))


def _recall_merged(owners: list[str], *, npc_slug: str, query: str, now_minute: int, token_budget: int,
                   count_tokens: Callable[[str], int], recent_limit: int) -> MemoryRecall:
    ledgers = {owner: ledger for owner in dict.fromkeys(owners) if (ledger := _ledger(owner, npc_slug)) is not None}
    turns = []  # (id, owner, speaker, text)
    for owner in ledgers:
        rows = MemoryRecord.objects.filter(game_id=owner, npc_slug=npc_slug, kind=TURN).order_by("-id")
        turns += [(i, owner, speaker, text) for i, speaker, text in rows.values_list("id", "speaker", "text")[:recent_limit]]
    recent = sorted(turns)[-recent_limit:] if recent_limit > 0 else []
    recalled = []
    for owner, ledger in ledgers.items():
        shown = sum(1 for _, o, _, _ in recent if o == owner)
        recalled += memory_retrieve(game_id=owner, npc_slug=npc_slug, query=query, now_minute=now_minute,
                                    token_budget=token_budget, count_tokens=count_tokens, skip_recent_turns=shown, ledger=ledger)
    recalled.sort(key=lambda m: (not m.pinned, -m.score))
    chosen, left = [], token_budget
    for memory in recalled[:40]:
        cost = count_tokens(memory.text)
        if cost <= left:
            chosen.append(memory)
            left -= cost
    return MemoryRecall(recent=tuple((speaker, text) for _, _, speaker, text in recent), recalled=tuple(chosen))


def _ledger(game_id: str, npc_slug: str) -> tuple[int, int] | None:
    """(version, raw count) of the (game, NPC)'s ledger, None when it has no memory."""
    rows = _LEDGER_QUERY.rows(game_id=game_id, npc_slug=npc_slug)
    return rows[0] if rows else None


# Read before every reply: compiled once, it costs a tenth of building it each time.
_LEDGER_QUERY = CompiledQuery(
    lambda game_id, npc_slug: MemoryLedger.objects.filter(game_id=game_id, npc_slug=npc_slug).order_by("pk")
    .values_list("version", "raw_count")[:1],
    game_id=uuid.UUID, npc_slug=str,
)


_UNREAD = object()


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
    ledger=_UNREAD,
) -> tuple[RecalledMemory, ...]:
    """The memories to put in the NPC's prompt, best first; pinned facts first, within the budget.

    The sum of `count_tokens(m.text)` never exceeds `token_budget`. The newest `skip_recent_turns`
    turns are left out: the prompt shows them as the recent conversation (`memory_recent_turns`).
    `query_vector` saves embedding `query` when the caller has its embedding already (the same
    text is also served from the embedding cache).
    """
    if token_budget <= 0 or limit <= 0:
        return ()
    matrix = memory_matrix(game_id=game_id, npc_slug=npc_slug, ledger=ledger)
    if matrix is None or matrix.size == 0:
        return ()
    config = memory_config()
    weights = Weights(config.weight_recency, config.weight_importance, config.weight_relevance, config.recency_half_life)
    eligible = eligible_mask(matrix, skip_recent_turns=skip_recent_turns)
    if not eligible.any():  # only the recent turns, which the prompt shows anyway: nothing to rank
        return ()
    if (eligible & matrix.pending).any():
        matrix = _pending_filled((str(game_id), npc_slug), matrix, eligible & matrix.pending)
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


def _pending_filled(key: tuple[str, str], matrix: MemoryMatrix, waiting: np.ndarray) -> MemoryMatrix:
    """The matrix with the vectors of the `waiting` rows: stored since it was read, or computed now
    (the background embedding has not come yet). This process's cached matrix takes them too."""
    ids = [int(i) for i in matrix.ids[waiting]]
    stored = MemoryRecord.objects.filter(id__in=ids, embedding_pending=False).values_list("id", "embedding")
    vectors = {record_id: embeddings.from_bytes(bytes(blob)) for record_id, blob in stored if blob}
    missing = [(record_id, text) for record_id, text in zip(ids, (matrix.texts[i] for i in np.flatnonzero(waiting)))
               if record_id not in vectors]
    if missing:
        vectors |= dict(zip((record_id for record_id, _ in missing), embeddings.embed([text for _, text in missing])))
    filled = matrix.embedded(vectors)
    cached = matrix_cache().get(key)
    if cached is not None and cached.version == matrix.version and cached.size == matrix.size:
        matrix_cache().put(key, filled)
    return filled


def memory_matrix(*, game_id: uuid.UUID | str, npc_slug: str, ledger=_UNREAD) -> MemoryMatrix | None:
    """The (game, NPC)'s records as a matrix, from the process cache when still valid; None if none.
    `ledger` is its (version, raw count) when the caller has just read it."""
    key = (str(game_id), npc_slug)
    cache = matrix_cache()
    if ledger is _UNREAD:
        ledger = _ledger(key[0], npc_slug)
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


def memory_first_minute(*, game_id: uuid.UUID | str, npc_slug: str,
                        also: tuple[uuid.UUID | str, ...] = ()) -> int | None:
    """The game minute of the oldest thing the NPC remembers of this game, or of the other owners
    `also` names (as `memory_recall`), None when nothing: when they first met, as far as it knows."""
    owners = [str(game_id), *(str(o) for o in also)]
    return (MemoryRecord.objects.filter(game_id__in=owners, npc_slug=npc_slug).order_by("game_minute")
            .values_list("game_minute", flat=True).first())


def memory_recent_turns(*, game_id: uuid.UUID | str, npc_slug: str, limit: int = 12,
                        step: int = 0) -> tuple[tuple[str, str], ...]:
    """(speaker, text) of the newest raw turns, oldest first; speaker is "player" or "npc". With
    `step` (1..limit), past `limit` turns the window's start moves `step` turns at a time."""
    rows = MemoryRecord.objects.filter(game_id=str(game_id), npc_slug=npc_slug, kind=TURN).order_by("-id")
    newest = list(rows.values_list("speaker", "text")[:limit])
    if 0 < step <= limit and len(newest) == limit and (total := rows.count()) > limit:
        newest = newest[:recent_window(total, limit=limit, step=step)]
    return tuple(reversed(newest))


def recent_window(total: int, *, limit: int, step: int) -> int:
    """How many of `total` turns a window of at most `limit`, moving `step` at a time, shows."""
    if total <= limit:
        return total
    base = limit - step
    return base + (total - base) % step


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
