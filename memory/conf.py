"""The TANKARD_MEMORY settings, read at call time and completed with defaults."""
from __future__ import annotations

from dataclasses import dataclass, fields

from django.conf import settings


@dataclass(frozen=True)
class MemoryConfig:
    summarise_after: int = 40  # raw records (turns + observations) per game and NPC before a fold
    keep_raw: int = 12  # raw records a fold leaves in place (the recent conversation)
    hard_raw_limit: int = 120  # past this, recording folds at once without the model (no worker ran)
    max_summaries: int = 20  # past this, the oldest summaries merge into one
    merge_summaries: int = 8  # how many of the oldest summaries one merge takes
    max_facts: int = 40  # pinned facts per game and NPC; the least important go first
    max_archives: int = 12  # archive rows per game and NPC; the oldest merge
    archive_max_turns: int = 3000  # raw records kept in archives per game and NPC; the oldest drop
    recency_half_life: float = 1440.0  # game minutes for recency to halve (one game day)
    weight_recency: float = 1.0
    weight_importance: float = 1.0
    weight_relevance: float = 1.5
    pinned_share: float = 0.5  # of a retrieval's token budget that pinned facts take first; more if others leave room
    use_llm: bool = True  # summaries and importance ratings by the model (else heuristics only)
    cache_max_bytes: int = 32 * 1024 * 1024  # per-process cache of (game, NPC) retrieval matrices


def memory_config() -> MemoryConfig:
    """TANKARD_MEMORY (keys in upper case, as in settings.py) over the defaults."""
    given = getattr(settings, "TANKARD_MEMORY", {}) or {}
    known = {f.name for f in fields(MemoryConfig)}
    values = {key.lower(): value for key, value in given.items() if key.lower() in known}
    return MemoryConfig(**values)
