"""Limits kept as atomic counters in the cache (Redis in production, so they hold across
processes): turns per minute and LLM tokens per hour for each game, new games per hour for each
client address. A cache outage lets play go on."""
from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def _window_count(key: str, window_seconds: int, amount: int = 1) -> int | None:
    bucket = f"{key}:{int(time.time() // window_seconds)}"
    try:
        try:
            return cache.incr(bucket, amount)  # one round trip, once the window's bucket exists
        except ValueError:  # the window's first count
            if cache.add(bucket, amount, timeout=window_seconds * 2):
                return amount
            return cache.incr(bucket, amount)  # another process counted first
    except ValueError:  # the bucket expired between add and incr
        cache.set(bucket, amount, timeout=window_seconds * 2)
        return amount
    except Exception:
        logger.warning("limit counter unavailable; allowing", exc_info=True)
        return None


def turn_allowed(*, game_id: str) -> bool:
    """Count one turn for the game; False when it is over the per-minute limit."""
    count = _window_count(f"limit:turns:{game_id}", 60)
    return count is None or count <= settings.TANKARD_TURNS_PER_MINUTE


def game_create_allowed(*, client: str) -> bool:
    """Count one new game for this client address; False when it started too many this hour
    (a script fetching the page without its cookie would otherwise create games without end)."""
    count = _window_count(f"limit:new-games:{client or 'unknown'}", 3600)
    return count is None or count <= settings.TANKARD_NEW_GAMES_PER_HOUR


def tavern_create_allowed(*, client: str) -> bool:
    """Count one new shared tavern for this client address; False past the hourly limit."""
    count = _window_count(f"limit:new-taverns:{client or 'unknown'}", 3600)
    return count is None or count <= settings.TANKARD_TAVERN["NEW_PER_HOUR"]


def llm_tokens_left(*, game_id: str) -> bool:
    """Whether the game may still spend LLM tokens this hour."""
    try:
        spent = cache.get(f"limit:tokens:{game_id}:{int(time.time() // 3600)}") or 0
    except Exception:
        return True
    return spent < settings.TANKARD_LLM_TOKENS_PER_HOUR


def llm_tokens_spend(*, game_id: str, tokens: int) -> None:
    if tokens > 0:
        _window_count(f"limit:tokens:{game_id}", 3600, tokens)
