"""The reply cache's three levels: a bounded in-process LRU, the Django cache (Redis through
django-redis in production, local memory otherwise) and the database, which survives restarts.
A hit at a lower level is promoted to the levels above it.

Eviction reaches every process through a per-NPC generation number kept in the Django cache and
built into the keys of the two fast levels: evicting or purging bumps it, so other processes'
LRU and cache keys stop matching at once, and their next lookup falls through to the database
(where the evicted row is gone). Without a readable generation the fast levels are skipped.
"""
from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from llm.models import ReplyCacheEntry

from .keys import entry_key_parts

logger = logging.getLogger(__name__)
GENERATION_KEY = "reply:gen:{npc_id}"


@dataclass(frozen=True)
class CachedReply:
    entry_id: int
    text: str  # with slots
    source: str  # "llm" when a player's reply was kept, "pregen" when made in the background
    question: str


def _config(name: str):
    return settings.TANKARD_REPLY_CACHE[name]


class _LRU:
    """Bounded, thread-safe key -> CachedReply map of one process."""

    def __init__(self) -> None:
        self._data: collections.OrderedDict[tuple[int, str], CachedReply] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, str]) -> CachedReply | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: tuple[int, str], value: CachedReply) -> None:
        limit = _config("MEMORY_ENTRIES")
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > limit:
                self._data.popitem(last=False)

    def pop(self, key: tuple[int, str]) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


memory = _LRU()


def generation(npc_id: int) -> int | None:
    """The NPC's current generation; created on first use (from the clock, so a lost cache never
    brings back an old number). None when the cache cannot be read."""
    key = GENERATION_KEY.format(npc_id=npc_id)
    try:
        value = cache.get(key)
        if value is None:
            cache.add(key, time.time_ns() // 1000, None)
            value = cache.get(key)
        return int(value) if value is not None else None
    except Exception:
        logger.warning("reply cache generation unreadable; using the database level only", exc_info=True)
        return None


def generation_bump(npc_id: int) -> None:
    key = GENERATION_KEY.format(npc_id=npc_id)
    try:
        try:
            cache.incr(key)
        except ValueError:  # missing: start a fresh one
            cache.set(key, time.time_ns() // 1000, None)
    except Exception:
        logger.warning("reply cache generation not bumped for NPC %s", npc_id, exc_info=True)


def _shared_key(gen: int, key: str) -> str:
    return f"reply:{gen}:{key}"


def level_get(key: str, *, npc_id: int) -> tuple[CachedReply | None, str | None]:
    """The cached reply under `key` and the level that had it ("memory", "redis", "db"), or (None, None)."""
    gen = generation(npc_id)
    if gen is not None:
        found = memory.get((gen, key))
        if found is not None:
            return found, "memory"
        found = _shared_get(gen, key)
        if found is not None:
            memory.put((gen, key), found)
            return found, "redis"
    found = _db_get(key)
    if found is not None and gen is not None:
        level_put(key, found, gen=gen)
    return (found, "db") if found is not None else (None, None)


def level_put(key: str, reply: CachedReply, *, gen: int | None = None, npc_id: int | None = None) -> None:
    """Put a reply in the two fast levels (the database row is written by the caller)."""
    if gen is None:
        gen = generation(npc_id) if npc_id is not None else None
    if gen is None:
        return
    memory.put((gen, key), reply)
    try:
        cache.set(_shared_key(gen, key), dataclasses.asdict(reply), _config("SHARED_TTL"))
    except Exception:
        logger.warning("reply cache: shared level unavailable", exc_info=True)


def level_evict(key: str, *, npc_id: int) -> None:
    """Forget `key` in the fast levels of every process (this one at once, others by generation)."""
    gen = generation(npc_id)
    if gen is not None:
        memory.pop((gen, key))
        try:
            cache.delete(_shared_key(gen, key))
        except Exception:
            logger.warning("reply cache: shared level unavailable", exc_info=True)
    generation_bump(npc_id)


def _shared_get(gen: int, key: str) -> CachedReply | None:
    try:
        data = cache.get(_shared_key(gen, key))
    except Exception:
        logger.warning("reply cache: shared level unavailable", exc_info=True)
        return None
    return CachedReply(**data) if isinstance(data, dict) else None


def _db_get(key: str) -> CachedReply | None:
    row = ReplyCacheEntry.objects.filter(**entry_key_parts(key)).only("id", "text", "source", "question").first()
    return CachedReply(entry_id=row.id, text=row.text, source=row.source, question=row.question) if row else None


def memory_clear() -> None:
    """Empty this process's LRU (tests, and to measure the lower levels)."""
    memory.clear()
