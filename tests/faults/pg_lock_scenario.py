"""Run by tests/faults/test_database_faults.py in a subprocess with DATABASE_URL set to a fresh
PostgreSQL database: plays over the websocket while another connection holds the game's row lock,
and prints what happened as one JSON line. Not a test module itself (pytest does not collect it)."""
from __future__ import annotations

import asyncio
import json
import os
import threading

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tankard_site.settings")
django.setup()

import psycopg  # noqa: E402
from channels.db import database_sync_to_async  # noqa: E402
from django.core.management import call_command  # noqa: E402

from gameplay.content import world_content_load  # noqa: E402
from gameplay.models import Game, GameSnapshot, Turn  # noqa: E402
from gameplay.world import world_changed  # noqa: E402
from tests.websocket import drain, game_with_cookie, play, ready  # noqa: E402


def hold_row_lock(game_id: str) -> psycopg.Connection:
    holder = psycopg.connect(os.environ["DATABASE_URL"])
    holder.execute("SELECT id FROM gameplay_game WHERE id = %s FOR UPDATE NOWAIT", (game_id,))
    return holder  # in a transaction until rollback


def saved(game_id: str) -> dict:
    game = Game.objects.get(pk=game_id)
    return {"version": game.version, "gold": game.state["gold"], "snapshots": GameSnapshot.objects.filter(game=game).count(),
            "turns": Turn.objects.filter(game=game).count()}


async def scenario(game_id: str, cookie: str) -> dict:
    out: dict = {}
    comm, _ = await ready(cookie)
    out["before"] = await database_sync_to_async(saved)(game_id)
    holder = hold_row_lock(game_id)
    out["refused"] = (await play(comm, "buy ale", "busy", timeout=20))[-1]
    out["while_locked"] = await database_sync_to_async(saved)(game_id)
    holder.rollback()
    holder.close()
    out["resent"] = (await play(comm, "buy ale", "busy"))[-1]
    await drain(comm)
    holder = hold_row_lock(game_id)
    threading.Timer(0.15, holder.rollback).start()  # shorter than the lock timeout: waited out
    out["waited"] = (await play(comm, "buy candle", "waited", timeout=20))[-1]
    await drain(comm)
    holder.close()
    out["after"] = await database_sync_to_async(saved)(game_id)
    out["busy_turns"] = await Turn.objects.filter(game_id=game_id, client_id="busy").acount()
    # The server's connections are cut (as by a PostgreSQL restart); the next turn opens new ones.
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as admin:
        out["cut"] = len(admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                       "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall())
    out["after_cut"] = (await play(comm, "buy candle", "after-cut", timeout=20))[-1]
    await drain(comm)
    out["after_cut_saved"] = await database_sync_to_async(saved)(game_id)
    await comm.disconnect()
    return out


def main() -> None:
    call_command("migrate", verbosity=0)
    world_content_load()
    world_changed()
    game_id, cookie = game_with_cookie("pg")
    print(json.dumps(asyncio.run(scenario(game_id, cookie))))


if __name__ == "__main__":
    main()
