"""Calling the game's synchronous services from async code.

Channels' default runs every database call of a process on one shared thread, so ten replies
ending together (each embedding its exchange for memory) held up every other player's `look` by
100-200 ms (measured, docs/benchmarks.md). Here each call runs on a pooled thread with its own
database connection instead; turns stay safe because each is one transaction guarded by the game's
version (and SQLite's busy timeout, or PostgreSQL's row lock)."""
from __future__ import annotations

from channels.db import database_sync_to_async


def db_async(fn):
    """`fn` as an awaitable, run on the thread pool with Django's connection handling."""
    return database_sync_to_async(fn, thread_sensitive=False)
