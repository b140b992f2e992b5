"""Persistence: one transaction per turn, versions, snapshots, corruption recovery, concurrency."""
import threading

import pytest

from gameplay import services
from gameplay.models import Game, GameSnapshot, Turn
from gameplay.rules.state import state_checksum

pytestmark = pytest.mark.django_db


def test_turn__bumps_version_and_keeps_few_snapshots(player):
    for _ in range(6):
        player.do("wait")
    game = Game.objects.get(pk=player.game_id)
    assert game.version == 6
    assert GameSnapshot.objects.filter(game=game).count() <= services.SNAPSHOTS_KEPT
    assert Turn.objects.filter(game=game).count() == 6


def test_refused_turn__changes_nothing(player):
    before = Game.objects.get(pk=player.game_id)
    player.do("drink ale")
    after = Game.objects.get(pk=player.game_id)
    assert after.version == before.version and after.state == before.state


def test_corrupted_state__restored_from_last_good_snapshot_and_told(player):
    player.do("buy ale")
    Game.objects.filter(pk=player.game_id).update(state={"minute": "garbage"})
    result = services.turn_command(game_id=player.game_id, client_id="r1", text="inventory")
    assert "ale" in result.final["text"] or "mug" in result.final["text"]
    assert any("blur" in f["text"] for f in result.extra)
    game = Game.objects.get(pk=player.game_id)
    assert game.checksum == state_checksum(game.state)


def test_game_for_session__creates_then_resumes():
    from django.contrib.sessions.backends.db import SessionStore

    from gameplay.content import world_content_load

    world_content_load()
    session = SessionStore()
    first = services.game_for_session(session=session)
    session.save()
    again = services.game_for_session(session=SessionStore(session_key=session.session_key))
    assert first.id == again.id


@pytest.mark.django_db(transaction=True)
def test_concurrent_turns__none_lost(world):
    """Two tabs buying at once: both purchases land, neither overwrites the other."""
    game = services.game_create()
    errors = []

    def buy(n):
        try:
            for i in range(3):
                services.turn_command(game_id=str(game.id), client_id=f"{n}-{i}", text="buy candle")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=buy, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    state = services.game_state_frame(game_id=str(game.id))
    assert state["inventory"] == [{"slug": "candle", "name": "tallow candle", "qty": 6}]
    assert state["player"]["gold"] == 20 - 6
