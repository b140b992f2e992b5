"""Access: a player reaches only their own game, by trying not to; staff pages are for staff;
production settings pass Django's deploy checks; the game page carries its CSP."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.urls import URLPattern, URLResolver, get_resolver

from gameplay.models import Game, Turn
from tests.websocket import connect, drain, game_with_cookie, play, ready

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_PATHS = {"", "tavern/", "ht/"}  # the game pages and the health check; everything else is staff only


# --- one player, one game ----------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
async def test_second_session__sees_and_changes_only_its_own_game(world):
    game_a, cookie_a = await database_sync_to_async(game_with_cookie)("a")
    game_b, cookie_b = await database_sync_to_async(game_with_cookie)("b")
    alice, state_a = await ready(cookie_a)
    bob, state_b = await ready(cookie_b)
    assert state_a["session"] == game_a and state_b["session"] == game_b

    await play(alice, "buy ale", "same-id")
    frames = await play(bob, "inventory", "same-id")  # the same client id in another game is not a replay
    assert "replayed" not in frames[-1] and "ale" not in frames[-1]["text"]
    assert not [f for f in await drain(bob) if f["type"] == "state"], "no push crosses games"
    b = await Game.objects.aget(pk=game_b)
    assert b.version == 0 and b.state["gold"] == 20
    for comm in (alice, bob):
        await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_frames_naming_another_game__act_on_the_senders_game_only(world):
    game_a, cookie_a = await database_sync_to_async(game_with_cookie)("a")
    game_b, cookie_b = await database_sync_to_async(game_with_cookie)("b")
    bob, _ = await ready(cookie_b)
    forged = {"type": "command", "id": "f1", "text": "buy ale", "session": game_a, "game": game_a, "game_id": game_a,
              "sessionid": cookie_a.split("=")[1], "version": 0}
    await bob.send_json_to(forged)
    frames = [f for f in await drain(bob, 0.5)]
    state = next(f for f in frames if f["type"] == "state")
    assert state["session"] == game_b and state["player"]["gold"] == 17
    a = await Game.objects.aget(pk=game_a)
    assert a.version == 0 and a.state["gold"] == 20
    assert not await Turn.objects.filter(game_id=game_a).aexists()
    await bob.disconnect()


def _session_naming(game_id: str) -> str:
    """The cookie of a real session whose game id names no game."""
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session["game_id"] = game_id
    session.create()
    return f"sessionid={session.session_key}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("cookie, names_game", [
    ("sessionid=" + "x" * 32, None),  # forged: no such session
    ("sessionid=../../../etc/passwd", None),
    ("sessionid=", None),
    (None, None),
    (None, "00000000-0000-0000-0000-000000000000"),  # a real session naming a game that does not exist
    (None, "not-a-uuid"),
])
async def test_forged_or_missing_session_or_game__no_game(world, cookie, names_game):
    if names_game is not None:
        cookie = await database_sync_to_async(_session_naming)(names_game)
    comm, connected = await connect(cookie)
    assert connected
    frame = await comm.receive_json_from()
    assert frame == {"type": "error", "reply_to": None, "code": "no_game", "text": frame["text"]}
    assert (await comm.receive_output())["code"] == 4001


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://localhost.evil.example"])
async def test_foreign_or_missing_origin__socket_refused(world, origin):
    _, cookie = await database_sync_to_async(game_with_cookie)()
    comm, connected = await connect(cookie, origin=origin)
    assert not connected


# --- staff only ------------------------------------------------------------------------------------
def _paths(resolver=None, prefix: str = "") -> list[str]:
    out = []
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if not route.startswith("admin/"):
                out += _paths(entry, route)
        elif isinstance(entry, URLPattern) and "<" not in route:
            out.append(route)
    return out


def staff_only_paths() -> list[str]:
    return ["/admin/", "/admin/gameplay/game/", "/admin/gameplay/turn/"] + [f"/{p}" for p in _paths() if p not in PUBLIC_PATHS]


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(username="innkeeper", password="ale-and-bread", is_staff=True, is_superuser=True)


@pytest.fixture
def traveller(django_user_model):
    return django_user_model.objects.create_user(username="traveller", password="ale-and-bread")


@pytest.mark.django_db
def test_every_page_but_the_game_and_health__refuses_anonymous_and_players(client, traveller, staff):
    paths = staff_only_paths()
    assert {"/metrics", "/staff/", "/admin/"} <= set(paths)
    for who in (None, traveller):
        if who is not None:
            client.force_login(who)
        for path in paths:
            response = client.get(path)
            assert response.status_code in {302, 403}, (who, path, response.status_code)
            if response.status_code == 302:
                assert response["Location"].startswith("/admin/login/"), (who, path)
    client.force_login(staff)
    for path in paths:
        assert client.get(path).status_code == 200, path


@pytest.mark.django_db
def test_metrics_bearer_token__right_token_only(client, settings):
    settings.TANKARD_METRICS_TOKEN = "s3cret-scrape-token"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token").status_code == 200
    for header in ("Bearer wrong", "Bearer ", "Basic s3cret-scrape-token", "s3cret-scrape-token"):
        assert client.get("/metrics", HTTP_AUTHORIZATION=header).status_code == 403, header
    settings.TANKARD_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


# --- production settings, headers, versions --------------------------------------------------------
def test_production_settings__pass_check_deploy_without_warnings(tmp_path):
    env = {**os.environ, "DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
           "DJANGO_ALLOWED_HOSTS": "example.com", "TANKARD_SQLITE_PATH": str(tmp_path / "deploy.sqlite3")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings__refuse_to_start_without_a_secret_key():
    env = {**os.environ, "DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "", "DJANGO_ALLOWED_HOSTS": "example.com"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_game_page__carries_a_strict_content_security_policy(client, world):
    response = client.get("/")

    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in directives["script-src"] and "unsafe-eval" not in policy
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response.cookies["sessionid"]["httponly"] and response.cookies["sessionid"]["samesite"] == "Lax"


def test_daphne__installed_version_is_at_least_4_2_2():
    major, minor, patch = (int(part) for part in version("daphne").split(".")[:3])
    assert (major, minor, patch) >= (4, 2, 2)


@pytest.mark.django_db
def test_server_error_with_debug_off__no_traceback_on_the_page(client, world, settings, monkeypatch):
    from gameplay import views

    settings.DEBUG = False
    monkeypatch.setattr(views.services, "game_for_session", lambda **kw: 1 / 0)
    client.raise_request_exception = False
    response = client.get("/")

    assert response.status_code == 500
    body = response.content.decode()
    assert "Traceback" not in body and "ZeroDivisionError" not in body and "game_for_session" not in body


def test_new_games__limited_per_client_address_in_world(world, settings):
    """A script fetching the page without its cookie cannot create games without end; a player who
    already has a game is never barred."""
    from django.core.cache import cache
    from django.test import Client

    settings.TANKARD_NEW_GAMES_PER_HOUR = 3
    cache.clear()
    player = Client()
    assert player.get("/").status_code == 200
    statuses = [Client().get("/").status_code for _ in range(4)]
    assert statuses == [200, 200, 429, 429]
    barred = Client().get("/")
    assert barred.status_code == 429 and b"door is barred" in barred.content and b"Traceback" not in barred.content
    assert player.get("/").status_code == 200
