"""Calling the game's synchronous services from async code.

On PostgreSQL each call runs on a pooled thread with its own connection (Channels'
`database_sync_to_async`, not thread-sensitive): with Channels' one shared thread, ten replies
ending together held up every other player's `look`, and non-LLM p99 at 200 games was 238 ms;
pooled, it fell to 160 ms (docs/benchmarks.md, "Load test").

On SQLite the opposite holds: concurrent writers wait in SQLite's busy handler, which sleeps in
steps of up to 100 ms (p99 rose from 67 to 160 ms), so every call runs on one thread, writing in
turn. That thread takes calls by priority, then in order: a player's command (`URGENT`) is not
queued behind ten replies being prepared or stored together (`NORMAL`), and background work
(`BACKGROUND`) waits for both. A call is never dropped once made, even if its caller is cancelled
(a player who leaves while their reply is stored still has it stored). Turns are safe either way:
each is one transaction guarded by the game's version."""
from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
import logging
import threading
from concurrent.futures import Future

from channels.db import database_sync_to_async
from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)
URGENT, NORMAL, BACKGROUND = 0, 1, 2


def db_async(fn, *, priority: int = NORMAL):
    """`fn` as an awaitable, with Django's connection handling: on SQLite on the one database
    thread, in `priority` order; otherwise on a pooled thread."""
    if connection.vendor != "sqlite":
        return database_sync_to_async(fn, thread_sensitive=False)

    async def call(*args, **kwargs):
        return await asyncio.shield(asyncio.wrap_future(_database_thread.submit(priority, fn, args, kwargs)))

    return call


async def auncancelled(awaitable):
    """Await `awaitable` to its end even when the caller is cancelled meanwhile, then pass the
    cancellation on: for what must be finished once begun (a turn's conclusion, when the player
    closes the tab as the reply ends)."""
    task = asyncio.ensure_future(awaitable)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return task.result()


class _DatabaseThread:
    """One daemon thread running submitted calls, lowest priority number first, then oldest."""

    def __init__(self) -> None:
        self._queue: list = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, priority: int, fn, args: tuple, kwargs: dict) -> Future:
        future: Future = Future()
        context = contextvars.copy_context()  # the caller's log context (game and turn ids)
        with self._ready:
            heapq.heappush(self._queue, (priority, next(self._order), future, context, fn, args, kwargs))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tankard-database", daemon=True)
                self._thread.start()
            self._ready.notify()
        return future

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue:
                    self._ready.wait()
                _, _, future, context, fn, args, kwargs = heapq.heappop(self._queue)
            if not future.set_running_or_notify_cancel():
                continue
            try:
                close_old_connections()  # as Channels does around each call
                result = context.run(fn, *args, **kwargs)
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)
            else:
                future.set_result(result)
            try:  # nothing may end this thread: every later call of the process waits on it
                close_old_connections()
            except Exception:
                logger.warning("closing the database connection after a call failed", exc_info=True)


_database_thread = _DatabaseThread()
