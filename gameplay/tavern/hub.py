"""One listener per server process for the locations of shared taverns.

What is said aloud goes to the channel layer group of the location where it was said; the members
of that group are server processes, not sockets: each process joins a location's group once (with
a channel of its own) while any of its sockets stands there, and hands each frame to those sockets
itself. A token of a reply heard by fifty players on two processes is then two channel layer
messages, not fifty (on Redis: two reads instead of fifty, and no per-socket dispatch), which is
what keeps the room's fan-out within a few milliseconds of the speaker's own frames
(bench/shared_tavern.py).

A hub belongs to an event loop (a server process has one; tests make many).
"""
from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Protocol

logger = logging.getLogger(__name__)
REJOIN_EVERY_SECONDS = 30.0  # a restarted Redis forgot the groups; expired memberships too
RETRY_SECONDS = (0.5, 4.0)


class Listener(Protocol):
    async def ahear(self, event: dict) -> None: ...


class RoomHub:
    def __init__(self, layer) -> None:
        self.layer = layer
        self.channel: str | None = None
        self.members: dict[str, set[Listener]] = {}
        self._reader: asyncio.Task | None = None
        self._joined_at = 0.0

    async def ajoin(self, group: str, listener: Listener) -> None:
        """`listener` hears what is said to `group` from now on."""
        if self.channel is None:  # the layer's own kind of process channel: on Redis, read by its one reader with the sockets'
            self.channel = await self.layer.new_channel()
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._aread(), name="tavern-hub")
        listeners = self.members.setdefault(group, set())
        if not listeners:
            await self.layer.group_add(group, self.channel)
        listeners.add(listener)

    async def aleave(self, group: str, listener: Listener) -> None:
        listeners = self.members.get(group)
        if listeners is None:
            return
        listeners.discard(listener)
        if not listeners:
            del self.members[group]
            await self.layer.group_discard(group, self.channel)

    async def akeep(self) -> None:
        """Join this process's groups again, at most every REJOIN_EVERY_SECONDS."""
        if time.monotonic() - self._joined_at < REJOIN_EVERY_SECONDS or self.channel is None:
            return
        self._joined_at = time.monotonic()
        for group in list(self.members):
            await self.layer.group_add(group, self.channel)

    async def _aread(self) -> None:
        wait, longest = RETRY_SECONDS
        while True:
            try:
                event = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a channel layer outage: the rooms are quiet until it is back
                logger.warning("channel layer unavailable (%s); rooms unheard, trying again in %.1fs", exc, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, longest)
                continue
            wait = RETRY_SECONDS[0]
            for listener in list(self.members.get(event.get("group", ""), ())):
                try:
                    await listener.ahear(event)
                except Exception:  # one socket closing as it is spoken to must not silence the rest
                    logger.debug("a room frame not delivered to one socket", exc_info=True)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, RoomHub]] = weakref.WeakKeyDictionary()


def room_hub(layer) -> RoomHub:
    """The running loop's hub for this channel layer."""
    hubs = _hubs.setdefault(asyncio.get_running_loop(), {})
    if id(layer) not in hubs:
        hubs[id(layer)] = RoomHub(layer)
    return hubs[id(layer)]
