"""Hot queries compiled once: the same rows as the ORM, new values in the right places, bad values
refused as the ORM refuses them. (On PostgreSQL they run in tests/scale/test_scale_out.py, whose
servers play every turn through them.)"""
import uuid

import pytest
from django.db import models
from django.db.models import OuterRef, Subquery

from gameplay import services
from gameplay.models import Game, Turn
from tankard_db.queries import CompiledQuery

pytestmark = pytest.mark.django_db


def _games_with_replay(game_id, client_id):
    played = Turn.objects.filter(game_id=OuterRef("pk"), client_id=client_id).values("final")[:1]
    return (Game.objects.filter(pk=game_id).annotate(replayed_final=Subquery(played, output_field=models.JSONField()))
            .values_list("id", "state", "version", "replayed_final"))


def test_rows__same_as_the_orm_for_every_value(player):
    other = services.game_create()
    player.do("buy ale")
    played = Turn.objects.get(game_id=player.game_id).client_id
    query = CompiledQuery(_games_with_replay, game_id=uuid.UUID, client_id=str)
    for game_id in (player.game_id, str(other.pk), other.pk):
        for client_id in (played, "nobody"):
            assert query.rows(game_id=game_id, client_id=client_id) == list(_games_with_replay(game_id, client_id))


def test_rows__json_columns_converted(player):
    player.do("buy ale")
    played = Turn.objects.get(game_id=player.game_id).client_id
    query = CompiledQuery(_games_with_replay, game_id=uuid.UUID, client_id=str)
    ((_, state, version, replayed),) = query.rows(game_id=player.game_id, client_id=played)
    assert isinstance(state, dict) and state["inventory"] == {"ale": 1}
    assert version == 1
    assert isinstance(replayed, dict) and replayed["type"] == "narration"


def test_rows__built_once():
    built = []

    def build(game_id):
        built.append(game_id)
        return Game.objects.filter(pk=game_id).values_list("version")

    query = CompiledQuery(build, game_id=uuid.UUID)
    for _ in range(3):
        assert query.rows(game_id=uuid.uuid4()) == []
    assert len(built) == 1


def test_rows__bad_game_id_refused():
    query = CompiledQuery(lambda game_id: Game.objects.filter(pk=game_id).values_list("version"), game_id=uuid.UUID)
    for bad in ("not-a-uuid", None, 12):
        with pytest.raises(ValueError):
            query.rows(game_id=bad)


def test_compile__a_value_that_does_not_reach_the_sql_is_an_error():
    query = CompiledQuery(lambda game_id, client_id: Game.objects.filter(pk=game_id).values_list("version"),
                          game_id=uuid.UUID, client_id=str)
    with pytest.raises(ValueError, match="client_id"):
        query.rows(game_id=uuid.uuid4(), client_id="c1")
