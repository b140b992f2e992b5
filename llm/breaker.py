"""Circuit breaking for the model backend.

One breaker per backend base URL, shared by every event loop and thread of the process. After
`failure_threshold` consecutive failures the breaker opens and calls fail fast; after `cooldown`
seconds it half-opens and lets exactly one probe through, whose outcome closes or re-opens it.
The breaker holds no asyncio objects, so it is safe to share between loops.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from llm.local_server import llm_base_url

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"

DEFAULT_FAILURE_THRESHOLD = 5
DEFAULT_COOLDOWN = 15.0

Clock = Callable[[], float]


class CircuitBreaker:
    """Counts consecutive failures of one backend and decides whether a call may go through."""

    def __init__(
        self,
        *,
        failure_threshold: int = DEFAULT_FAILURE_THRESHOLD,
        cooldown: float = DEFAULT_COOLDOWN,
        clock: Clock = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_out = False

    @property
    def state(self) -> str:
        """"closed", "open" or "half_open" (open whose cool-down has elapsed)."""
        with self._lock:
            return self._state()

    @property
    def failures(self) -> int:
        return self._failures

    def _state(self) -> str:
        if self._opened_at is None:
            return CLOSED
        if self._clock() - self._opened_at >= self.cooldown:
            return HALF_OPEN
        return OPEN

    def is_open(self) -> bool:
        """True while calls must fail fast (the cool-down has not elapsed yet)."""
        return self.state == OPEN

    def allow(self) -> bool:
        """May a call go out now? In half-open state only the first caller gets the probe."""
        with self._lock:
            state = self._state()
            if state == CLOSED:
                return True
            if state == HALF_OPEN and not self._probe_out:
                self._probe_out = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probe_out = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._probe_out or self._failures >= self.failure_threshold:
                self._opened_at = self._clock()
            self._probe_out = False

    def release(self) -> None:
        """A call ended with neither success nor failure (cancelled): free the probe, if it was one."""
        with self._lock:
            self._probe_out = False


_breakers: dict[str, CircuitBreaker] = {}
_registry_lock = threading.Lock()


def breaker_for(base_url: str) -> CircuitBreaker:
    """The process-wide breaker of one backend (a handful of base URLs per process at most)."""
    key = base_url.rstrip("/")
    with _registry_lock:
        breaker = _breakers.get(key)
        if breaker is None:
            breaker = _breakers[key] = CircuitBreaker()
        return breaker


def breaker_state(base_url: str | None = None) -> str:
    """State of the breaker of `base_url` (default: the configured backend), for health checks."""
    return breaker_for(base_url or llm_base_url()).state


def reset_breakers() -> None:
    """Forget every breaker (tests; an operator after fixing the backend)."""
    with _registry_lock:
        _breakers.clear()
