"""Shared fixtures: the shipped world in the test database, games, and a way to play turns."""
from __future__ import annotations

import itertools

import pytest

from gameplay import services
from gameplay.content import world_content_load
from gameplay.world import world_changed, world_current

_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty local cache: counters (rate limits, new games) and cached
    replies never carry over from one test to the next."""
    from django.core.cache import cache

    try:
        cache.clear()
    except Exception:  # a test that points the cache at a stopped service clears nothing
        pass


@pytest.fixture(autouse=True)
def _no_selftest_outcome():
    """The model self-test's last outcome is this process's (for /ht/): no test sees another's."""
    from llm.selftest import SelfTest, selftest_record

    selftest_record(SelfTest(True, "", 0.0))


@pytest.fixture
def world(db):
    """The shipped tavern, loaded fresh into the test database."""
    world_content_load()
    world_changed()
    return world_current()


@pytest.fixture
def game(world):
    return services.game_create(session_key="test")


class Player:
    """Plays turns against one game through the services, as the consumer would."""

    def __init__(self, game_id: str) -> None:
        self.game_id = str(game_id)

    def do(self, text: str) -> dict:
        result = services.turn_command(game_id=self.game_id, client_id=f"t{next(_ids)}", text=text)
        if result.say is not None:
            return self.answer(result.say)
        return result.final

    def say(self, npc: str, text: str) -> dict:
        result = services.say_prepare(game_id=self.game_id, client_id=f"t{next(_ids)}", npc=npc, text=text)
        if result.say is None:
            return result.final
        return self.answer(result.say)

    def answer(self, plan) -> dict:
        """The NPC answers as the fallback ladder does when the model is away."""
        import random

        from gameplay.voice import fallback_text

        reply = fallback_text(plan, world_current().npcs[plan.npc], random.Random(plan.seed))
        return services.say_commit(plan=plan, reply=reply, source="fallback").final

    @property
    def state(self) -> dict:
        return services.game_state_frame(game_id=self.game_id)


@pytest.fixture
def session_cookie(world):
    """A game tied to a saved session: (the game, the Cookie header that opens it on a socket)."""
    from gameplay.models import Game
    from tests.websocket import game_with_cookie

    game_id, cookie = game_with_cookie("ws")
    return Game.objects.get(pk=game_id), cookie


@pytest.fixture
def player(game):
    return Player(game.id)


# The scripted OpenAI-compatible server, for every test folder (defined with the LLM tests).
from tests.llm.conftest import fake_llm  # noqa: E402,F401


def pytest_sessionfinish(session, exitstatus):
    """Django drops the SQLite test database at the end, but not its write-ahead log and shared-memory
    files: without this, every run leaves two files behind in var/."""
    from pathlib import Path

    from django.conf import settings

    name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") and name and not str(name).startswith(":memory:"):
        for leftover in (Path(f"{name}-wal"), Path(f"{name}-shm")):
            leftover.unlink(missing_ok=True)
