"""Writes to NPC memory: recording exchanges and observations, facts, use, importance and forgetting.

Every write to one (game, NPC) locks its ledger row first, so writes to it are serial; appends
leave the ledger's version alone (cached matrices take them on incrementally) and every other
change bumps it. Embeddings are computed before the transaction, never inside it. An exchange is
recorded at once, with only the embeddings this process already has; the rest are marked
`embedding_pending` and filled by `memory_embed_pending` in the background (or by retrieval, if it
needs them first), so that remembering costs a reply no model pass. Folding old
turns into summaries lives in `memory.folding`; `memory_summarise` and `memory_summarise_due`
are its entry points here.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Iterable

from django.db import transaction
from django.db.models import Q

from llm import embeddings

from .conf import memory_config
from .facts import Fact, facts_extract
from .folding import claim_fold, fold_raw, merge_summaries, npc_display_name, release_fold
from .importance import importance_blend, importance_heuristic, parse_rating, rating_messages
from .ledger import ledger_bump, ledger_locked
from .models import FACT, OBSERVATION, TURN, MemoryArchive, MemoryLedger, MemoryRecord
from .retrieval import matrix_cache
from .summaries import ask_model

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 1000
FACT_IMPORTANCE = {"name": 1.0, "kin": 0.9, "debt": 0.85, "promise": 0.85, "goal": 0.8}


def _record(game_id: str, npc_slug: str, *, kind: str, speaker: str, text: str, vector, minute: int, refine: bool) -> MemoryRecord:
    """`vector` None: recorded now, embedded later (`embedding_pending`)."""
    return MemoryRecord(
        game_id=game_id, npc_slug=npc_slug, kind=kind, speaker=speaker, text=text,
        importance=importance_heuristic(text, kind=kind, speaker=speaker), refine_pending=refine,
        game_minute=minute, last_used_minute=minute, **_embedding_fields(vector),
    )


def _embedding_fields(vector) -> dict:
    """A record's stored embedding, or none yet (`embedding_pending`) when `vector` is None."""
    return {"embedding": b"" if vector is None else embeddings.to_bytes(vector), "embedding_pending": vector is None}


def memory_record_exchange(*, game_id: uuid.UUID | str, npc_slug: str, player_line: str, npc_reply: str, game_minute: int) -> bool:
    """Remember one exchange: the player's line (and the facts in it) and the NPC's reply. Texts this
    process has not embedded yet are kept without their vectors; returns True when some wait for
    `memory_embed_pending`."""
    game_id = str(game_id)
    turns = [(s, t.strip()[:MAX_TEXT_CHARS]) for s, t in (("player", player_line), ("npc", npc_reply)) if t.strip()]
    facts = facts_extract(player_line[:MAX_TEXT_CHARS])
    if not turns:
        return False
    vectors = embeddings.embedded_already([t for _, t in turns] + [f.text for f in facts])
    refine = memory_config().use_llm
    with transaction.atomic():
        ledger = ledger_locked(game_id, npc_slug)
        MemoryRecord.objects.bulk_create([
            _record(game_id, npc_slug, kind=TURN, speaker=speaker, text=text, vector=vector, minute=game_minute,
                    refine=refine and speaker == "player")
            for (speaker, text), vector in zip(turns, vectors)
        ])
        changed = _facts_store(game_id, npc_slug, zip(facts, vectors[len(turns):]), game_minute)
        _ledger_count(ledger, added=len(turns), changed=changed)
    _fold_if_overfull(game_id, npc_slug, ledger.raw_count)
    return any(vector is None for vector in vectors)


EMBED_BATCH = 64


@dataclass(frozen=True)
class PendingText:
    id: int
    game_id: str
    npc_slug: str
    text: str


def memory_pending_texts(*, pairs: Iterable[tuple[str, str]], limit: int = EMBED_BATCH) -> list[PendingText]:
    """Records of these (game, NPC) pairs still waiting for their embedding, oldest first."""
    which = Q()
    for game_id, npc_slug in pairs:
        which |= Q(game_id=str(game_id), npc_slug=npc_slug)
    if not which:
        return []
    rows = MemoryRecord.objects.filter(which, embedding_pending=True).order_by("id")
    return [PendingText(i, str(g), n, t) for i, g, n, t in rows.values_list("id", "game_id", "npc_slug", "text")[:limit]]


def memory_embeddings_store(*, pending: list[PendingText], vectors) -> int:
    """Store the embeddings of pending records (`vectors[i]` is `pending[i]`'s); returns how many
    were still waiting. Records folded away meanwhile are skipped; this process's cached matrices
    take the vectors at once."""
    stored, by_owner = 0, {}
    with transaction.atomic():
        for record, vector in zip(pending, vectors):
            stored += MemoryRecord.objects.filter(id=record.id, embedding_pending=True).update(
                embedding=embeddings.to_bytes(vector), embedding_pending=False)
            by_owner.setdefault((record.game_id, record.npc_slug), {})[record.id] = vector
    for owner, owned in by_owner.items():
        matrix_cache().update(owner, lambda matrix, owned=owned: matrix.embedded(owned))
    return stored


def memory_embed_pending(*, game_id: uuid.UUID | str, npc_slug: str) -> int:
    """Embed the (game, NPC)'s records that were recorded without their vectors; returns how many."""
    done = 0
    while pending := memory_pending_texts(pairs=[(str(game_id), npc_slug)]):
        done += memory_embeddings_store(pending=pending, vectors=embeddings.embed([p.text for p in pending]))
        if len(pending) < EMBED_BATCH:
            break
    return done


def memory_embed_due(*, limit: int = 200) -> int:
    """Embed every record still waiting (a background embedding that never ran: a process that
    stopped, a broker that was down); returns how many."""
    pending = MemoryRecord.objects.filter(embedding_pending=True).order_by()  # no ordering column in DISTINCT
    pairs = pending.values_list("game_id", "npc_slug").distinct()[:limit]
    return sum(memory_embed_pending(game_id=game_id, npc_slug=npc_slug) for game_id, npc_slug in list(pairs))


def memory_record_observation(*, game_id: uuid.UUID | str, npc_slug: str, text: str, game_minute: int,
                              embed_now: bool = True) -> bool:
    """Remember something the NPC saw the player do ("The player paid Bram's debt in full.").
    With `embed_now` False the text is kept without its vector when this process has not embedded
    it yet (as `memory_record_exchange` does); returns True when it waits for `memory_embed_pending`."""
    game_id, text = str(game_id), text.strip()[:MAX_TEXT_CHARS]
    if not text:
        return False
    vector = embeddings.embed_one(text) if embed_now else embeddings.embedded_already([text])[0]
    with transaction.atomic():
        ledger = ledger_locked(game_id, npc_slug)
        _record(game_id, npc_slug, kind=OBSERVATION, speaker="", text=text, vector=vector, minute=game_minute,
                refine=memory_config().use_llm).save()
        _ledger_count(ledger, added=1, changed=False)
    _fold_if_overfull(game_id, npc_slug, ledger.raw_count)
    return vector is None


def _ledger_count(ledger: MemoryLedger, *, added: int, changed: bool) -> None:
    ledger.raw_count += added
    ledger.version += 1 if changed else 0
    ledger.save(update_fields=["raw_count", "version"])


def _facts_store(game_id: str, npc_slug: str, facts: Iterable[tuple[Fact, object]], minute: int) -> bool:
    """Create or replace facts by key (the ledger is locked); True when any row changed."""
    facts = list(facts)
    if not facts:
        return False
    existing = {r.key: r for r in MemoryRecord.objects.filter(
        game_id=game_id, npc_slug=npc_slug, kind=FACT, key__in=[f.key for f, _ in facts])}
    for fact, vector in facts:
        # The kind of fact sets the level; the words decide between facts of a kind ("a pie" or "my son").
        base = FACT_IMPORTANCE.get(fact.key.split(":")[0], 0.8)
        importance = round(min(1.0, 0.7 * base + 0.3 * importance_heuristic(fact.text, kind=FACT)), 4)
        record = existing.get(fact.key) or MemoryRecord(game_id=game_id, npc_slug=npc_slug, kind=FACT, key=fact.key, pinned=True)
        record.text, record.importance = fact.text, importance
        for field, value in _embedding_fields(vector).items():
            setattr(record, field, value)
        record.game_minute = record.last_used_minute = minute
        record.save()
    _facts_trim(game_id, npc_slug, memory_config().max_facts)
    return True


def _facts_trim(game_id: str, npc_slug: str, max_facts: int) -> None:
    facts = MemoryRecord.objects.filter(game_id=game_id, npc_slug=npc_slug, kind=FACT)
    extra = facts.count() - max_facts
    if extra > 0:
        doomed = facts.order_by("importance", "last_used_minute", "id").values_list("id", flat=True)[:extra]
        MemoryRecord.objects.filter(id__in=list(doomed)).delete()


def _fold_if_overfull(game_id: str, npc_slug: str, raw_count: int) -> None:
    """Keep rows bounded when no worker summarises: past the hard limit, fold now, without the model."""
    config = memory_config()
    if raw_count > config.hard_raw_limit:
        fold_raw(game_id=game_id, npc_slug=npc_slug, config=config, use_model=False, threshold=config.hard_raw_limit)
        merge_summaries(game_id=game_id, npc_slug=npc_slug, config=config, use_model=False)


def memory_mark_used(*, ids: Iterable[int], now_minute: int, game_id: uuid.UUID | str | None = None,
                     npc_slug: str | None = None) -> int:
    """Note that these memories were recalled now (recency counts from last use); returns rows changed.

    Pass the game and NPC when known (as the reply path does) to save a query.
    """
    ids = [int(i) for i in ids]
    if not ids:
        return 0
    changed = MemoryRecord.objects.filter(id__in=ids, last_used_minute__lt=now_minute).update(last_used_minute=now_minute)
    if game_id is not None and npc_slug is not None:
        owners = [(str(game_id), npc_slug)]
    else:
        owners = [(str(g), n) for g, n in MemoryRecord.objects.filter(id__in=ids).values_list("game_id", "npc_slug").distinct()]
    # This process's cached matrices follow at once; another process's follow at their next reload.
    for key in owners:
        matrix_cache().update(key, lambda matrix: matrix.used(ids, now_minute))
    return changed


def memory_summarise(*, game_id: uuid.UUID | str, npc_slug: str) -> int:
    """Fold the oldest raw turns into a summary when over the threshold; returns the rows folded.

    Idempotent and safe to run concurrently: a lease on the ledger lets one worker fold at a time,
    and the fold commits only if every row it summarised is still there.
    """
    game_id, config = str(game_id), memory_config()
    if not claim_fold(game_id=game_id, npc_slug=npc_slug, threshold=config.summarise_after):
        return 0
    try:
        folded = fold_raw(game_id=game_id, npc_slug=npc_slug, config=config, use_model=True, threshold=config.summarise_after)
        merge_summaries(game_id=game_id, npc_slug=npc_slug, config=config, use_model=True)
    finally:
        release_fold(game_id=game_id, npc_slug=npc_slug)
    return folded


def memory_summarise_due(*, limit: int = 100) -> int:
    """Summarise every (game, NPC) over the threshold, the fullest first; returns the rows folded."""
    threshold = memory_config().summarise_after
    due = MemoryLedger.objects.filter(raw_count__gt=threshold).order_by("-raw_count").values_list("game_id", "npc_slug")[:limit]
    return sum(memory_summarise(game_id=game_id, npc_slug=npc_slug) for game_id, npc_slug in list(due))


def memory_refine_importance(*, record_id: int) -> bool:
    """Ask the model how important a record is; True when it answered with a usable rating.

    Junk answers keep the heuristic score (and the record is not asked about again); when the model
    is unavailable the record stays pending for a later run.
    """
    record = MemoryRecord.objects.filter(id=record_id, refine_pending=True).values("game_id", "npc_slug", "text", "importance").first()
    if record is None:
        return False
    answer = ask_model(rating_messages(npc_name=npc_display_name(record["npc_slug"]), text=record["text"]), max_tokens=8)
    if answer is None:
        return False
    rating = parse_rating(answer)
    changes = {"refine_pending": False}
    if rating is not None:
        changes |= {"importance": importance_blend(heuristic=record["importance"], rating=rating), "importance_source": "model"}
    with transaction.atomic():
        ledger_locked(str(record["game_id"]), record["npc_slug"])
        updated = MemoryRecord.objects.filter(id=record_id, refine_pending=True).update(**changes)
        if updated and rating is not None:
            ledger_bump(str(record["game_id"]), record["npc_slug"])
    return bool(updated) and rating is not None


def memory_refine_due(*, limit: int = 20) -> int:
    """Rate up to `limit` pending records, oldest first; stops when the model is unavailable."""
    pending = list(MemoryRecord.objects.filter(refine_pending=True).order_by("id").values_list("id", flat=True)[:limit])
    done = 0
    for record_id in pending:
        if not memory_config().use_llm:
            break
        if memory_refine_importance(record_id=record_id):
            done += 1
        elif MemoryRecord.objects.filter(id=record_id, refine_pending=True).exists():
            break  # still pending: the model is unavailable, try again next run
    return done


def memory_forget_game(*, game_id: uuid.UUID | str) -> int:
    """Forget everything every NPC remembers of a game; returns the rows deleted."""
    game_id = str(game_id)
    with transaction.atomic():
        deleted = MemoryRecord.objects.filter(game_id=game_id).delete()[0]
        deleted += MemoryArchive.objects.filter(game_id=game_id).delete()[0]
        deleted += MemoryLedger.objects.filter(game_id=game_id).delete()[0]
    matrix_cache().drop_game(game_id)
    return deleted
