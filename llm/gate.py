"""The queue in front of the model: who may call it, and when.

A `Gate` per backend and event loop admits at most `concurrency` requests at once, queues the rest
by priority (players before background work, then first come first served), bounds the queue,
and runs one request at a time per conversation. Tickets are plain state changed synchronously,
so a cancelled waiter or stream never leaks a slot as long as it calls `release()`.

Across processes, players are announced through the Django cache key `llm:players_active`;
background callers (Celery workers) wait while it is non-zero.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
import itertools
import logging
import threading
import time
import weakref
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

from llm.errors import LLMUnavailable
from llm.local_server import llm_is_local, local_slots

logger = logging.getLogger(__name__)

PRIORITY_PLAYER = 0
PRIORITY_BACKGROUND = 10

PLAYERS_KEY = "llm:players_active"
PLAYERS_KEY_TTL = 180  # seconds: a crashed process's count fades away
PLAYER_POLL_INTERVAL = 0.2
PLAYER_WAIT_LIMIT = 30.0


@dataclass(eq=False)
class Ticket:
    """One request's place in a gate: waiting, then granted, then released."""

    gate: Gate
    priority: int
    conversation: str | None
    seq: int
    granted: bool = False
    evicted: bool = False
    released: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def position(self) -> int:
        """1-based place among the waiters (0 once granted)."""
        return 0 if self.granted else self.gate.position_of(self)

    async def wait_change(self) -> None:
        """Return when granted or when the queue moved; raise queue_full if evicted."""
        await self.changed.wait()
        self.changed.clear()
        if self.evicted:
            raise LLMUnavailable("queue_full", "evicted by a player request")

    def release(self) -> None:
        self.gate.release(self)


class Gate:
    """A bounded priority queue with a concurrency limit and per-conversation serialisation."""

    def __init__(self, *, concurrency: int, queue_size: int) -> None:
        self.concurrency = concurrency
        self.queue_size = queue_size
        self._waiting: list[Ticket] = []
        self._running: set[Ticket] = set()
        self._busy: set[str] = set()
        self._seq = itertools.count()

    @property
    def depth(self) -> int:
        return len(self._waiting)

    @property
    def in_flight(self) -> int:
        return len(self._running)

    def configure(self, *, concurrency: int, queue_size: int) -> None:
        """Follow changed settings; a raised limit admits waiters at once."""
        if (concurrency, queue_size) != (self.concurrency, self.queue_size):
            self.concurrency, self.queue_size = concurrency, queue_size
            self._dispatch()

    def enter(self, *, priority: int, conversation: str | None = None) -> Ticket:
        """Take a slot now or a place in the queue; LLMUnavailable("queue_full") when full."""
        ticket = Ticket(self, priority, conversation, next(self._seq))
        self._waiting.append(ticket)
        self._dispatch()
        if not ticket.granted and len(self._waiting) > self.queue_size:
            self._make_room(ticket)
        return ticket

    def _make_room(self, newcomer: Ticket) -> None:
        worst = max(self._waiting, key=_order)
        if worst is newcomer or worst.priority <= newcomer.priority:
            self._waiting.remove(newcomer)
            newcomer.released = True
            raise LLMUnavailable("queue_full")
        self._waiting.remove(worst)
        worst.evicted = worst.released = True
        worst.changed.set()
        self._notify_waiters()

    def position_of(self, ticket: Ticket) -> int:
        return sum(1 for other in self._waiting if _order(other) < _order(ticket)) + 1

    def release(self, ticket: Ticket) -> None:
        """Leave the queue or free the slot; safe to call twice and from any state."""
        if ticket.released:
            return
        ticket.released = True
        if ticket.granted:
            self._running.discard(ticket)
            if ticket.conversation is not None:
                self._busy.discard(ticket.conversation)
            self._dispatch()
        elif ticket in self._waiting:
            self._waiting.remove(ticket)
        self._notify_waiters()

    def _dispatch(self) -> None:
        while len(self._running) < self.concurrency:
            eligible = [t for t in self._waiting if t.conversation is None or t.conversation not in self._busy]
            if not eligible:
                return
            ticket = min(eligible, key=_order)
            self._waiting.remove(ticket)
            self._running.add(ticket)
            if ticket.conversation is not None:
                self._busy.add(ticket.conversation)
            ticket.granted = True
            ticket.changed.set()

    def _notify_waiters(self) -> None:
        for ticket in self._waiting:
            ticket.changed.set()


def _order(ticket: Ticket) -> tuple[int, int]:
    return (ticket.priority, ticket.seq)


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Gate]] = weakref.WeakKeyDictionary()
_gates_lock = threading.Lock()  # metrics read the registry from other threads


def gate_limits(*, local: bool) -> tuple[int, int]:
    """(concurrency, queue size) from settings; CONCURRENCY 0 means the local server's slot count
    (LOCAL_SLOTS) locally, 8 remotely."""
    config = settings.TANKARD_LLM
    concurrency = config["CONCURRENCY"] or (local_slots() if local else 8)
    return concurrency, config["QUEUE_SIZE"]


def gate_for(base_url: str) -> Gate:
    """The running loop's gate for one backend, created on first use; limits follow settings."""
    concurrency, queue_size = gate_limits(local=llm_is_local())
    with _gates_lock:
        gates = _gates.setdefault(asyncio.get_running_loop(), {})
        gate = gates.get(base_url)
        if gate is None:
            gate = gates[base_url] = Gate(concurrency=concurrency, queue_size=queue_size)
    gate.configure(concurrency=concurrency, queue_size=queue_size)
    return gate


def _all_gates() -> list[Gate]:
    with _gates_lock:
        return [gate for gates in _gates.values() for gate in list(gates.values())]


def queue_depth() -> int:
    """Requests waiting for a slot, over every gate of this process (callable from any thread)."""
    return sum(gate.depth for gate in _all_gates())


def in_flight() -> int:
    """Requests holding a slot, over every gate of this process (callable from any thread)."""
    return sum(gate.in_flight for gate in _all_gates())


# --- Players across processes --------------------------------------------------------------------

def _cache_incr() -> None:
    try:
        cache.add(PLAYERS_KEY, 0, PLAYERS_KEY_TTL)
        try:
            cache.incr(PLAYERS_KEY)
        except ValueError:  # expired between add and incr
            cache.set(PLAYERS_KEY, 1, PLAYERS_KEY_TTL)
        cache.touch(PLAYERS_KEY, PLAYERS_KEY_TTL)
    except Exception:  # the cache is a hint: never fail a turn over it
        logger.warning("Could not announce a player request in the cache.", exc_info=True)


def _cache_decr() -> None:
    try:
        if cache.decr(PLAYERS_KEY) < 0:
            cache.set(PLAYERS_KEY, 0, PLAYERS_KEY_TTL)
    except ValueError:  # expired: nothing to take back
        pass
    except Exception:
        logger.warning("Could not withdraw a player request from the cache.", exc_info=True)


def players_active() -> int:
    """Player requests queued or running in any process (as far as the cache knows)."""
    try:
        return int(cache.get(PLAYERS_KEY) or 0)
    except Exception:
        return 0


# Announcements go through one thread, in order: a withdrawal never overtakes its announcement,
# and neither is waited for (a cache round trip is not worth a player's time to first token).
_announcer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tankard-announce")


def announce_player() -> None:
    """Count one player request in the cache, without waiting; `withdraw_player` takes it back."""
    _announcer.submit(_cache_incr)


def withdraw_player() -> None:
    """Take back one announced player request, without waiting (safe inside `finally`)."""
    try:
        _announcer.submit(_cache_decr)
    except RuntimeError:  # the executor is shut down (interpreter exiting)
        _cache_decr()


async def wait_for_players_idle() -> bool:
    """Background callers: wait until no player request is active anywhere, at most a while.

    Returns False when it gave up waiting (the background request then goes anyway).
    """
    started = time.monotonic()
    while await asyncio.to_thread(players_active) > 0:
        if time.monotonic() - started >= PLAYER_WAIT_LIMIT:
            logger.info("Background LLM request stops waiting for players after %.0fs.", PLAYER_WAIT_LIMIT)
            return False
        await asyncio.sleep(PLAYER_POLL_INTERVAL)
    return True
