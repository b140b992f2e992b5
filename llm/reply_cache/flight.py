"""Single flight: identical asks in flight at once share one model call (per process and loop).

The first ask of a key leads and calls the model; later asks of the same key wait for the leader
to finish, then look the cache up again. A leader that ends without a cacheable reply (fallback,
cancelled) releases them, and each goes on alone. Entries live only while their call runs.
"""
from __future__ import annotations

import asyncio
import weakref

_flights: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Event]] = weakref.WeakKeyDictionary()


def _loop_flights() -> dict[str, asyncio.Event]:
    return _flights.setdefault(asyncio.get_running_loop(), {})


def flight_running(key: str) -> asyncio.Event | None:
    """The event a follower waits on, when an identical ask is with the model now."""
    return _loop_flights().get(key)


def flight_lead(key: str) -> asyncio.Event:
    """Register this ask as the leader of `key`; call `flight_land` when its reply is stored."""
    event = asyncio.Event()
    _loop_flights()[key] = event
    return event


def flight_land(key: str, event: asyncio.Event) -> None:
    flights = _loop_flights()
    if flights.get(key) is event:
        del flights[key]
    event.set()


def flights_in_air() -> int:
    try:
        return len(_loop_flights())
    except RuntimeError:
        return 0
