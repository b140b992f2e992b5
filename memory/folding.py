"""Folding old raw records into summaries, merging summaries, and archiving what was folded.

The slow part (the model's summary, the embedding) runs outside any transaction; the commit then
locks the ledger and goes ahead only if every record it summarised is still there, so a fold
that raced another folds nothing. A lease on the ledger (`claim_fold`) keeps two workers from
asking the model about the same turns at once. Rows per (game, NPC) stay bounded: raw records by
the fold threshold, summaries by merging, archives by merging and a cap on archived records.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Sequence

from django.db import transaction
from django.utils import timezone

from llm import embeddings
from npcs.models import Npc

from .archive import archive_pack, archive_unpack
from .conf import MemoryConfig
from .ledger import ledger_locked
from .models import RAW_KINDS, SUMMARY, MemoryArchive, MemoryLedger, MemoryRecord
from .summaries import Line, summary_extract, summary_write

FOLD_LEASE = timedelta(minutes=5)  # a worker that died mid-fold holds the lease no longer than this
MAX_FOLD_CHUNK_FACTOR = 2  # one summary covers at most this many times SUMMARISE_AFTER records

_RAW_FIELDS = ("id", "kind", "speaker", "text", "importance", "game_minute", "last_used_minute")
_SUMMARY_FIELDS = ("id", "text", "importance", "game_minute", "last_used_minute", "folded_count")


def npc_display_name(npc_slug: str) -> str:
    return Npc.objects.filter(slug=npc_slug).values_list("name", flat=True).first() or npc_slug.replace("-", " ").title()


def claim_fold(*, game_id: str, npc_slug: str, threshold: int) -> bool:
    """Take the fold lease when a fold is due and no other worker holds it."""
    with transaction.atomic():
        ledger = MemoryLedger.objects.select_for_update().filter(game_id=game_id, npc_slug=npc_slug).first()
        if ledger is None or ledger.raw_count <= threshold:
            return False
        now = timezone.now()
        if ledger.fold_claimed_at is not None and now - ledger.fold_claimed_at < FOLD_LEASE:
            return False
        ledger.fold_claimed_at = now
        ledger.save(update_fields=["fold_claimed_at"])
    return True


def release_fold(*, game_id: str, npc_slug: str) -> None:
    MemoryLedger.objects.filter(game_id=game_id, npc_slug=npc_slug).update(fold_claimed_at=None)


def _summary_of(lines: Sequence[Line], *, npc_slug: str, use_model: bool, merging: bool) -> tuple[str, str]:
    name = npc_display_name(npc_slug)
    if use_model:
        return summary_write(lines, npc_name=name, merging=merging)
    return summary_extract(lines, npc_name=name, merging=merging), "extractive"


def _top_mean(values: Sequence[float], top: int = 3) -> float:
    best = sorted(values, reverse=True)[:top]
    return round(min(1.0, max(0.0, sum(best) / len(best))), 4) if best else 0.3


def fold_raw(*, game_id: str, npc_slug: str, config: MemoryConfig, use_model: bool, threshold: int) -> int:
    """While raw records exceed `threshold`, fold the oldest (all but KEEP_RAW) into summaries."""
    folded = 0
    chunk = max(MAX_FOLD_CHUNK_FACTOR * config.summarise_after, 2)
    while True:
        raw = MemoryRecord.objects.filter(game_id=game_id, npc_slug=npc_slug, kind__in=RAW_KINDS).order_by("id")
        rows = list(raw.values(*_RAW_FIELDS)[: threshold + chunk + 1])
        if len(rows) <= threshold:
            return folded
        total = raw.count()
        fold = rows[: min(chunk, total - config.keep_raw)]
        done = _fold_chunk(game_id, npc_slug, fold, config=config, use_model=use_model)
        if not done:
            return folded
        folded += done


def _fold_chunk(game_id: str, npc_slug: str, fold: list[dict], *, config: MemoryConfig, use_model: bool) -> int:
    lines = [Line(row["speaker"], row["text"], row["importance"]) for row in fold]
    text, written_by = _summary_of(lines, npc_slug=npc_slug, use_model=use_model, merging=False)
    vector = embeddings.embed_one(text)
    first, last = fold[0]["id"], fold[-1]["id"]
    with transaction.atomic():
        ledger = ledger_locked(game_id, npc_slug)
        span = MemoryRecord.objects.filter(game_id=game_id, npc_slug=npc_slug, kind__in=RAW_KINDS, id__gte=first, id__lte=last)
        if span.count() != len(fold):
            return 0  # another worker folded (some of) these already
        MemoryRecord.objects.create(
            game_id=game_id, npc_slug=npc_slug, kind=SUMMARY, text=text, written_by=written_by,
            importance=_top_mean([row["importance"] for row in fold]), embedding=embeddings.to_bytes(vector),
            game_minute=fold[-1]["game_minute"], last_used_minute=max(row["last_used_minute"] for row in fold),
            folded_count=len(fold),
        )
        MemoryArchive.objects.create(
            game_id=game_id, npc_slug=npc_slug, first_minute=fold[0]["game_minute"], last_minute=fold[-1]["game_minute"],
            rows=len(fold), data=archive_pack({**row, "minute": row["game_minute"]} for row in fold),
        )
        span.delete()
        ledger.raw_count = MemoryRecord.objects.filter(game_id=game_id, npc_slug=npc_slug, kind__in=RAW_KINDS).count()
        ledger.version += 1
        ledger.save(update_fields=["raw_count", "version"])
        _archives_trim(game_id, npc_slug, config)
    return len(fold)


def merge_summaries(*, game_id: str, npc_slug: str, config: MemoryConfig, use_model: bool) -> int:
    """When summaries exceed MAX_SUMMARIES, merge the least important into one; returns the summaries merged.

    Least important, not oldest: an early summary that holds something striking outlives later
    small talk, while small talk keeps being compressed into ever fewer sentences. The merged
    summary takes the group's mean importance, so merging never promotes small talk.
    """
    summaries = MemoryRecord.objects.filter(game_id=game_id, npc_slug=npc_slug, kind=SUMMARY)
    total = summaries.count()
    if total <= config.max_summaries:
        return 0
    size = max(2, config.merge_summaries, total - config.max_summaries + 1)
    group = sorted(summaries.order_by("importance", "game_minute", "id").values(*_SUMMARY_FIELDS)[:size],
                   key=lambda row: (row["game_minute"], row["id"]))
    lines = [Line("", row["text"], row["importance"]) for row in group]
    text, written_by = _summary_of(lines, npc_slug=npc_slug, use_model=use_model, merging=True)
    vector = embeddings.embed_one(text)
    ids = [row["id"] for row in group]
    with transaction.atomic():
        ledger = ledger_locked(game_id, npc_slug)
        if MemoryRecord.objects.filter(id__in=ids).count() != len(ids):
            return 0
        MemoryRecord.objects.create(
            game_id=game_id, npc_slug=npc_slug, kind=SUMMARY, text=text, written_by=written_by,
            importance=round(sum(row["importance"] for row in group) / len(group), 4),
            embedding=embeddings.to_bytes(vector), game_minute=group[-1]["game_minute"],
            last_used_minute=max(row["last_used_minute"] for row in group),
            folded_count=sum(row["folded_count"] for row in group),
        )
        MemoryRecord.objects.filter(id__in=ids).delete()
        ledger.version += 1
        ledger.save(update_fields=["version"])
    return len(group)


def _archives_trim(game_id: str, npc_slug: str, config: MemoryConfig) -> None:
    """Merge the oldest archives into one when there are too many, dropping the oldest records past the cap."""
    archives = list(
        MemoryArchive.objects.filter(game_id=game_id, npc_slug=npc_slug).order_by("first_minute", "id").values_list("id", "rows")
    )
    if len(archives) <= config.max_archives:
        return
    group = archives[: len(archives) - config.max_archives + 1]
    room = config.archive_max_turns - sum(rows for _, rows in archives[len(group):])
    entries: list[dict] = []
    for data in MemoryArchive.objects.filter(id__in=[i for i, _ in group]).order_by("first_minute", "id").values_list("data", flat=True):
        entries.extend(archive_unpack(bytes(data)))
    entries = entries[-room:] if room > 0 else []
    MemoryArchive.objects.filter(id__in=[i for i, _ in group]).delete()
    if entries:
        MemoryArchive.objects.create(
            game_id=game_id, npc_slug=npc_slug, first_minute=entries[0]["minute"], last_minute=entries[-1]["minute"],
            rows=len(entries), data=archive_pack(entries),
        )
