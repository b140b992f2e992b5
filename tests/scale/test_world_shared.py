"""Many games on one world: the world's static data is shared read-only and refreshed when an
editor changes it; each game's own state stays its own."""
import pytest

from gameplay import services
from gameplay.models import Item
from gameplay.world import world_current
from npcs.models import NpcState
from tests.conftest import Player

pytestmark = pytest.mark.django_db


def test_world__one_shared_object_for_every_game(world):
    first, second = (Player(services.game_create(session_key=k).id) for k in ("a", "b"))
    first.do("look")
    second.do("look")
    assert world_current() is world_current()  # loaded once, not per game or per turn


def test_admin_edit__seen_by_the_next_turn_of_a_running_game(world, player, django_capture_on_commit_callbacks):
    player.do("buy ale")
    assert player.state["player"]["gold"] == 17
    with django_capture_on_commit_callbacks(execute=True):
        ale = Item.objects.get(slug="ale")  # as the admin does: load, change, save (the signal fires)
        ale.price = 7
        ale.save()
    player.do("buy ale")
    assert player.state["player"]["gold"] == 10
    assert world_current().items["ale"].price == 7


def test_admin_edit__reaches_a_process_still_holding_the_old_world(world, player, django_capture_on_commit_callbacks):
    """Another process learns of the edit only through the stamp in the shared cache."""
    from gameplay import world as world_module

    held = world_current()
    with django_capture_on_commit_callbacks(execute=True):
        Item.objects.filter(slug="ale").update(price=5)
        Item.objects.get(slug="ale").save()
    world_module._holder.world = held  # what another process still has in memory
    player.do("buy ale")
    assert player.state["player"]["gold"] == 15


def test_two_games__states_are_independent(world):
    one, other = (Player(services.game_create(session_key=k).id) for k in ("one", "other"))
    before = other.state
    one.do("buy ale")
    one.do("go to the kitchen")
    one.say("magda", "Smells good in here.")
    after = other.state
    assert one.state["location"]["slug"] == "kitchen" and one.state["inventory"]
    assert (after["player"], after["inventory"], after["location"], after["version"]) == (
        before["player"], before["inventory"], before["location"], before["version"]
    )
    met = NpcState.objects.filter(npc__slug="magda", flags__met=True).values_list("game_id", flat=True)
    assert [str(g) for g in met] == [one.game_id]
