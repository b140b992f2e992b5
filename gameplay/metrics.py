"""Prometheus metrics of games, turns, connections, background jobs and the process's memory.

The helpers here are what the consumer, the turn path and the background jobs call. The active
games gauge is computed when scraped, from a database count refreshed at most every
ACTIVE_REFRESH seconds, so frequent scrapes (and the staff dashboard) cost one query per period.
"""
from __future__ import annotations

import logging
import resource
import sys
import threading
import time
from datetime import timedelta

from django.utils import timezone
from prometheus_client import Counter, Gauge

from .selectors import games_active_count

logger = logging.getLogger(__name__)


def process_rss_bytes() -> int | None:
    """This process's resident memory now (Linux: /proc/self/status), else its peak; None if unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if not peak:
        return None
    return peak if sys.platform == "darwin" else peak * 1024  # macOS reports bytes, Linux KiB


ACTIVE_WINDOW = timedelta(minutes=15)
ACTIVE_REFRESH = 10.0  # seconds

GAMES_ACTIVE = Gauge("tankard_games_active", "Games with a turn in the last 15 minutes (all processes).")
CONNECTIONS_OPEN = Gauge("tankard_connections_open", "Websocket connections open in this process.")
TURNS = Counter("tankard_turns", "Turns played, by kind (command, say) and outcome (ok, error code).", ["kind", "outcome"])
JOB_RUNS = Counter("tankard_job_runs", "Background job runs, by job name.", ["job"])
JOB_FAILURES = Counter("tankard_job_failures", "Background job runs that failed, by job name.", ["job"])
REPLY_CHECKS = Counter("tankard_reply_checks_failed", "NPC reply sentences held back by a check, by NPC and reason "
                       "(ooc, price, invented_name, premise, ...; gameplay/reply_checks.py).", ["npc", "reason"])
REPLY_OUTCOMES = Counter("tankard_reply_check_outcomes", "What the checks did to an NPC reply: passed, corrected (a price "
                         "put right), cut (ended at the last good sentence), regenerated, authored (the NPC's own line).",
                         ["npc", "outcome"])
REPLY_FALLBACKS = Counter("tankard_reply_fallbacks", "NPC replies ended with the NPC's own stock line, by NPC and why: a "
                          "model failure (timeout, connect, http_5xx, http_4xx, breaker_open, queue_full, malformed, "
                          "cut), a reply the checks held back twice (their reason: ooc, premise, ...), or token_budget.",
                          ["npc", "reason"])
CANON_VETOES = Counter("tankard_canon_vetoes", "NPC replies (or cached replies) held back because they contradicted a "
                       "canon fact, by NPC (npcs/canon.py).", ["npc"])
NARRATIONS = Counter("tankard_narrations", "Free text the rules could not place, by what the player was shown: the "
                     "narrator's sentence (narrated) or what they can do (suggestions), and why the narrator's was not "
                     "shown (checks, unavailable, leak, token_budget).", ["outcome", "reason"])
PROCESS_RSS = Gauge("tankard_process_resident_memory_bytes", "Resident memory of this process.")


class _ActiveGames:
    """The active-games count, refreshed from the database at most every ACTIVE_REFRESH seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0.0
        self._fetched_at: float | None = None

    def __call__(self) -> float:
        with self._lock:
            now = time.monotonic()
            if self._fetched_at is not None and now - self._fetched_at < ACTIVE_REFRESH:
                return self._value
            self._fetched_at = now
            try:
                self._value = float(games_active_count(since=timezone.now() - ACTIVE_WINDOW))
            except Exception:  # a scrape must never fail over one gauge (database down, async context)
                logger.warning("Could not count active games.", exc_info=True)
            return self._value

    def forget(self) -> None:
        """Count again at the next scrape (tests)."""
        with self._lock:
            self._fetched_at = None


active_games = _ActiveGames()
GAMES_ACTIVE.set_function(active_games)
PROCESS_RSS.set_function(lambda: float(process_rss_bytes() or 0))


def connection_opened() -> None:
    CONNECTIONS_OPEN.inc()


def connection_closed() -> None:
    CONNECTIONS_OPEN.dec()


def turn_observed(*, kind: str, outcome: str) -> None:
    """A turn ended: `kind` "command" or "say"; `outcome` "ok" or the error frame's code."""
    TURNS.labels(kind=kind, outcome=outcome).inc()


def reply_check_observed(*, npc: str, reason: str) -> None:
    REPLY_CHECKS.labels(npc=npc, reason=reason).inc()


def reply_outcome_observed(*, npc: str, outcome: str) -> None:
    REPLY_OUTCOMES.labels(npc=npc, outcome=outcome).inc()


def reply_fallback_observed(*, npc: str, reason: str) -> None:
    REPLY_FALLBACKS.labels(npc=npc, reason=reason).inc()


def canon_veto_observed(*, npc: str) -> None:
    CANON_VETOES.labels(npc=npc).inc()


def narration_observed(*, outcome: str, reason: str = "") -> None:
    NARRATIONS.labels(outcome=outcome, reason=reason).inc()


def job_observed(*, name: str, ok: bool) -> None:
    """A background job ran (`name`: its beat schedule or task name)."""
    JOB_RUNS.labels(job=name).inc()
    if not ok:
        JOB_FAILURES.labels(job=name).inc()
