"""Calling the game's synchronous services from async code.

Channels' default runs every database call of a process on one shared thread. On PostgreSQL that
thread was the bottleneck: ten replies ending together (each embedding its exchange for memory)
held up every other player's `look`, and non-LLM p99 at 200 games was 238 ms; with each call on a
pooled thread with its own connection it fell to 160 ms (docs/benchmarks.md, "Load test"). On
SQLite the opposite holds: concurrent writers wait in SQLite's busy handler, which sleeps in steps
of up to 100 ms, and p99 rose from 67 to 160 ms; there one thread, writing in turn, is faster.
Turns are safe either way: each is one transaction guarded by the game's version."""
from __future__ import annotations

from channels.db import database_sync_to_async
from django.db import connection


def db_async(fn):
    """`fn` as an awaitable, with Django's connection handling; pooled threads unless on SQLite."""
    return database_sync_to_async(fn, thread_sensitive=connection.vendor == "sqlite")
