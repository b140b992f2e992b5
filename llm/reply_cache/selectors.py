"""Reads of the reply cache: statistics for the staff dashboard, what pre-generation should make
next (the questions players ask most, in the contexts they ask them in), and the earlier lines a
new one may ask the same as."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from llm.models import ReplyCacheEntry, ReplyDemand, ReplyFlag, ReplyServe
from llm.prompts import Situation

from .asked import Asked, asked_owner
from .keys import entry_key_parts, situation_from_json
from .questions import QUESTIONS


@dataclass(frozen=True)
class ReplyCacheStats:
    days: int
    served: dict[str, int]  # replies players received on the cache's path, by source
    hit_share: float  # of those, served from the cache (source cache or pregen)
    pregen_share: float  # of those, pre-generated replies
    entries: dict[str, int]  # entries now held, by source ("llm", "pregen")
    pregen_used_share: float  # pre-generated entries that reached at least one player
    flags: int  # replies flagged in the window


def reply_cache_stats(*, days: int = 7) -> ReplyCacheStats:
    """The cache's usefulness over the last `days` days (the dashboard's numbers)."""
    since = timezone.now() - timedelta(days=days)
    served = dict(ReplyServe.objects.filter(created_at__gte=since).values_list("source").annotate(n=Count("id")).order_by())
    total = sum(served.values())
    entries = dict(ReplyCacheEntry.objects.values_list("source").annotate(n=Count("id")).order_by())
    pregen = ReplyCacheEntry.objects.filter(source="pregen").aggregate(n=Count("id"), used=Count("id", filter=Q(served__gt=0)))
    return ReplyCacheStats(
        days=days, served=served,
        hit_share=(served.get("cache", 0) + served.get("pregen", 0)) / total if total else 0.0,
        pregen_share=served.get("pregen", 0) / total if total else 0.0,
        entries=entries, pregen_used_share=pregen["used"] / pregen["n"] if pregen["n"] else 0.0,
        flags=ReplyFlag.objects.filter(created_at__gte=since).count(),
    )


@dataclass(frozen=True)
class PregenTarget:
    """One reply worth making before anyone asks: a question in a context players meet."""

    question: str  # the cache's question key
    line: str  # the words to put to the model
    context: str
    situation: Situation
    time_words: dict
    part: str
    mood: str
    tier: str
    asks: int


def reply_pregen_targets(*, npc_slug: str, npc_id: int, persona_version: int, persona_digest: str, limit: int,
                         asked: Asked = Asked()) -> list[PregenTarget]:
    """The replies most likely needed that the cache lacks, most asked first: for the NPC's most
    asked contexts of each part of the day, every canonical question (the cold start; as the NPC's
    own question that it is for this NPC, `asked`, where there is one) and every other line asked
    more than once."""
    cfg = settings.TANKARD_REPLY_CACHE
    contexts = _likely_contexts(npc_slug, per_part=cfg["PREGEN_CONTEXTS_PER_PART"])
    if not contexts:
        return []
    have = set(ReplyCacheEntry.objects.filter(npc_id=npc_id, persona_version=persona_version, persona_digest=persona_digest,
                                              context__in=contexts)
               .values_list("context", "question"))
    rows = ReplyDemand.objects.filter(npc_slug=npc_slug, context__in=contexts).order_by("-asks", "id")[:2000]
    targets: dict[tuple[str, str], PregenTarget] = {}
    samples: dict[str, ReplyDemand] = {}
    flagged = set()
    for row in rows:
        samples.setdefault(row.context, row)
        if row.flags >= cfg["PREGEN_SKIP_FLAGGED"]:
            flagged.add((row.context, row.question))
        elif row.question.startswith("q:") or row.asks >= 2:
            targets[(row.context, row.question)] = _target(row, row.question, row.line, row.asks)
    cold = [(owner.key, owner.text) if (owner := asked_owner(question.key, asked=asked)) else (f"q:{question.key}", question.text)
            for question in QUESTIONS]
    for context in contexts:
        for key, text in dict(cold).items():
            pair = (context, key)
            if pair not in targets and pair not in flagged:
                targets[pair] = _target(samples[context], key, text, 0)
    wanted = [t for pair, t in targets.items() if pair not in have]
    return sorted(wanted, key=lambda t: -t.asks)[:limit]


def _likely_contexts(npc_slug: str, *, per_part: int) -> list[str]:
    """Per part of the day, the contexts asked most, strangers' first (most players are)."""
    rows = (ReplyDemand.objects.filter(npc_slug=npc_slug).values("context", "part", "tier")
            .annotate(total=Sum("asks")).order_by("-total")[:500])
    chosen: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda r: (r["tier"] != "stranger", -r["total"])):
        picked = chosen.setdefault(row["part"], [])
        if len(picked) < per_part and row["context"] not in picked:
            picked.append(row["context"])
    return [context for picked in chosen.values() for context in picked]


def _target(row: ReplyDemand, question: str, line: str, asks: int) -> PregenTarget:
    return PregenTarget(question=question, line=line, context=row.context, situation=situation_from_json(row.situation),
                        time_words=dict(row.time_words), part=row.part, mood=row.mood, tier=row.tier, asks=asks)


KIN_LIMIT = 32  # earlier lines a new one is compared with: the most asked in its context


def kin_lines(*, key: str, npc_slug: str, limit: int = KIN_LIMIT) -> tuple[tuple[str, str], ...]:
    """The earlier lines whose replies the cache holds under their own signature ("s:") in the
    context of `key` (an entry key: the same NPC, persona and context), as (their question key,
    the words first asked), most asked first."""
    parts = entry_key_parts(key)
    own = parts.pop("question")
    held = ReplyCacheEntry.objects.filter(**parts, question__startswith="s:").exclude(question=own)
    rows = (ReplyDemand.objects.filter(npc_slug=npc_slug, context=parts["context"], question__in=held.values("question"))
            .order_by("-asks", "id").values_list("question", "line")[:limit])
    return tuple((question, line) for question, line in rows if line)
