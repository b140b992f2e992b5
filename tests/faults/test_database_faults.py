"""The database busy or locked during a turn: another connection holds the write lock (SQLite's
BEGIN IMMEDIATE, PostgreSQL's row lock). A short hold is waited out and the turn applies once; a
long one is refused in the world with `server_busy` and nothing is half-applied (state, snapshot,
turn row: all or nothing); the same id sent again later applies once."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.db import connections

from gameplay.aio import db_async
from gameplay.models import Game, GameSnapshot, Turn
from tests.faults.conftest import WriteLock, sqlite_path
from tests.websocket import drain, game_with_cookie, play, ready

ROOT = Path(__file__).resolve().parents[2]


async def snapshot_of(game_id: str) -> dict:
    game = await Game.objects.aget(pk=game_id)
    return {"version": game.version, "state": game.state, "checksum": game.checksum,
            "snapshots": await GameSnapshot.objects.filter(game_id=game_id).acount(),
            "turns": await Turn.objects.filter(game_id=game_id).acount()}


@pytest.fixture
async def impatient_sqlite(settings):
    """SQLite waits 0.2 s for a lock (not 20) and a turn retries for 1 s, so the test is quick."""
    options = connections["default"].settings_dict["OPTIONS"]
    before = options.get("timeout")
    options["timeout"] = 0.2
    settings.TANKARD_TURN_BUSY_SECONDS = 1.0
    await db_async(connections.close_all)()  # the game's database thread reconnects with it
    yield
    options["timeout"] = before
    await db_async(connections.close_all)()


@pytest.mark.django_db(transaction=True)
async def test_sqlite_locked_briefly__turn_waits_and_applies_once(world):
    game_id, cookie = await database_sync_to_async(game_with_cookie)()
    comm, _ = await ready(cookie)
    lock = WriteLock(sqlite_path())
    threading.Timer(0.6, lock.release).start()

    frames = await play(comm, "buy ale", "waited", timeout=15)
    assert frames[-1]["type"] == "narration"
    after = await snapshot_of(game_id)
    assert after["version"] == 1 and after["state"]["gold"] == 17 and after["turns"] == 1
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_sqlite_locked_too_long__server_busy_nothing_applied_then_resend_applies_once(world, impatient_sqlite):
    game_id, cookie = await database_sync_to_async(game_with_cookie)()
    comm, _ = await ready(cookie)
    before = await snapshot_of(game_id)
    lock = WriteLock(sqlite_path())
    try:
        refused = (await play(comm, "buy ale", "busy", timeout=15))[-1]
        assert refused["type"] == "error" and refused["code"] == "server_busy" and refused["text"]
        assert await snapshot_of(game_id) == before, "nothing half-applied"
        await comm.send_to(text_data="not json")  # the socket stays up and answering meanwhile
        assert (await comm.receive_json_from())["code"] == "bad_frame"
    finally:
        lock.release()

    again = await play(comm, "buy ale", "busy")
    assert again[-1]["type"] == "narration" and "replayed" not in again[-1]
    await drain(comm)
    after = await snapshot_of(game_id)
    assert after["version"] == 1 and after["state"]["gold"] == 17 and after["turns"] == 1
    assert await Turn.objects.filter(game_id=game_id, client_id="busy").acount() == 1
    await comm.disconnect()


PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def postgres_database():
    """A fresh PostgreSQL database for one scenario, dropped afterwards; skipped when PostgreSQL does
    not answer, unless CI=true."""
    import uuid

    import psycopg

    name = f"tankard_faults_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=2)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL does not answer at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL does not answer at {PG_ADMIN_URL}")
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.mark.services
def test_postgres_row_locked__server_busy_then_resend_applies_once__connections_cut_are_replaced(postgres_database):
    env = {**os.environ, "DATABASE_URL": postgres_database, "TANKARD_DB_LOCK_TIMEOUT_MS": "300",
           "TANKARD_TURN_BUSY_SECONDS": "1", "REDIS_URL": "", "DJANGO_SETTINGS_MODULE": "tankard_site.settings"}
    result = subprocess.run([sys.executable, "-m", "tests.faults.pg_lock_scenario"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])

    assert out["refused"]["type"] == "error" and out["refused"]["code"] == "server_busy"
    assert out["while_locked"] == out["before"], "nothing half-applied"
    assert out["resent"]["type"] == "narration" and "replayed" not in out["resent"]
    assert out["waited"]["type"] == "narration"
    assert out["after"]["version"] == out["before"]["version"] + 2 and out["after"]["gold"] == 20 - 3 - 1
    assert out["after"]["turns"] == out["before"]["turns"] + 2 and out["busy_turns"] == 1
    # connections cut under the server: the next turn is played on new ones, once
    assert out["cut"] >= 1
    assert out["after_cut"]["type"] == "narration", out["after_cut"]
    assert out["after_cut_saved"]["version"] == out["after"]["version"] + 1 and out["after_cut_saved"]["gold"] == out["after"]["gold"] - 1
