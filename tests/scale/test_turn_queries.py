"""A turn costs a small, fixed number of queries whatever the size of the world or of the game: a
fresh game in the shipped tavern and a long game in a much bigger world run the same queries."""
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gameplay import services
from gameplay.services import store
from gameplay.models import Bounty, BountyObjective, Game, GameSnapshot, Item, Location, Turn
from gameplay.rules.state import GameState, state_checksum
from gameplay.world import world_changed, world_current
from npcs.models import Npc, NpcState, ScheduleSlot
from tests.conftest import Player

pytestmark = pytest.mark.django_db

# Savepoint and release of the turn's transaction, the game (the replay check is part of that
# query), its NPC states, the state update, one snapshot written over the oldest, the turn log.
MAX_COMMAND_QUERIES = 7
# Prepare (game with the replay check, NPC states) and commit (the above, plus the NPC states changed).
MAX_SAY_QUERIES = 12
COMMANDS = ("look", "status", "wait", "buy ale", "go to the kitchen", "board", "jobs")


def command_queries(game_id: str, text: str, *, warm: bool = False) -> int:
    """Queries of one command; cold (as in a process that has not seen this game's NPC states at
    its version) unless `warm`."""
    world_current()  # the world is loaded once per process, not per turn: keep it out of the count
    if not warm:
        store._minds_seen.clear()
    with CaptureQueriesContext(connection) as ctx:
        services.turn_command(game_id=game_id, client_id=uuid.uuid4().hex, text=text)
    return len(ctx.captured_queries)


def say_queries(game_id: str) -> int:
    npc = services.game_state_frame(game_id=game_id)["npcs"][0]["slug"]  # whoever is present
    world_current()
    store._minds_seen.clear()
    with CaptureQueriesContext(connection) as ctx:
        prepared = services.say_prepare(game_id=game_id, client_id=uuid.uuid4().hex, npc=npc, text="What news?")
        assert prepared.say is not None, prepared.final
        services.say_commit(plan=prepared.say, reply="Not much, friend.", source="fallback")
    return len(ctx.captured_queries)


def fresh_counts(world) -> tuple[dict[str, int], int]:
    counts = {}
    for text in COMMANDS:  # each on a brand-new game: its first turn
        counts[text] = command_queries(str(services.game_create(session_key="fresh").id), text)
    return counts, say_queries(str(services.game_create(session_key="fresh").id))


def world_enlarge(*, extra: int) -> None:
    """Add `extra` locations, items, NPCs (with schedules) and bounties to the shipped tavern."""
    common = Location.objects.get(slug="common-room")
    locations = [Location.objects.create(slug=f"annex-{n}", name=f"Annex {n}", description="A quiet corner.", order=50 + n) for n in range(extra)]
    common.exits.add(*locations)
    for n in range(extra):
        item = Item.objects.create(slug=f"trinket-{n}", name=f"trinket {n}", kind="curiosity", price=1 + n % 5)
        item.sold_at.add(common)
        npc = Npc.objects.create(slug=f"patron-{n}", name=f"Patron {n}", role="regular")
        ScheduleSlot.objects.create(npc=npc, days="all", start_hour=0, end_hour=24, location_slug="common-room")
        bounty = Bounty.objects.create(slug=f"errand-{n}", title=f"Errand {n}", description="Carry a trinket.")
        BountyObjective.objects.create(bounty=bounty, kind="deliver", item=item, npc=npc, text=f"Bring trinket {n} to Patron {n}")
    world_changed()


def game_grow(game_id: str, *, turns: int) -> None:
    """Give a game a long past: real turns, then hundreds more in its log, a full inventory, many
    accepted bounties and every NPC met."""
    player = Player(game_id)
    for text in ("buy ale", "talk to gareth", "go to the kitchen", "go to the common room", "wait") * 4:
        player.do(text)
    world = world_current()
    game = Game.objects.get(pk=game_id)
    Turn.objects.bulk_create(
        [Turn(game=game, version=game.version, client_id=f"past-{n}", kind="command", text="look",
              final={"type": "narration", "reply_to": f"past-{n}", "text": "You look around."}) for n in range(turns)]
    )
    state = GameState.from_json(game.state)
    state.inventory = {slug: 3 for slug in world.items}
    state.bounties = {slug: 0 for slug in world.bounties if slug.startswith("errand-")}
    state.turns = turns
    data = state.to_json()
    GameSnapshot.objects.update_or_create(game=game, slot=(game.version + turns) % services.SNAPSHOTS_KEPT, defaults={
        "version": game.version + turns, "state": data, "checksum": state_checksum(data)})
    Game.objects.filter(pk=game_id).update(state=data, checksum=state_checksum(data), version=game.version + turns)
    NpcState.objects.filter(game_id=game.pk).update(relationship=25, flags={"met": True, "asked": ["cellar", "rats"]})


def test_turn_queries__long_game_in_big_world_costs_what_a_fresh_game_costs(world):
    fresh_commands, fresh_say = fresh_counts(world)
    world_enlarge(extra=60)
    big = services.game_create(session_key="big")
    game_grow(str(big.id), turns=400)
    assert len(world_current().npcs) >= 68 and NpcState.objects.filter(game_id=big.id).count() >= 68
    assert Turn.objects.filter(game=big).count() >= 400

    big_commands = {}
    for text in COMMANDS:
        Player(str(big.id)).do("go to the common room")
        big_commands[text] = command_queries(str(big.id), text)
    Player(str(big.id)).do("go to the common room")
    big_say = say_queries(str(big.id))

    assert big_commands == fresh_commands
    assert big_say == fresh_say
    assert max(fresh_commands.values()) <= MAX_COMMAND_QUERIES
    assert fresh_say <= MAX_SAY_QUERIES


def test_turn_queries__the_same_in_a_games_first_and_later_turns(game):
    """A snapshot is written over the oldest on every turn, from a game's first turn on."""
    counts = [command_queries(str(game.id), "wait") for _ in range(6)]
    assert len(set(counts)) == 1, counts


@pytest.mark.django_db(transaction=True)  # the states a turn leaves are kept once it commits
def test_turn_queries__a_process_that_played_the_games_last_turn_skips_reading_its_npc_states(game):
    cold = command_queries(str(game.id), "buy ale")
    assert command_queries(str(game.id), "buy ale", warm=True) == cold - 1
    assert command_queries(str(game.id), "look", warm=True) == command_queries(str(game.id), "look") - 1


def test_turn_queries__an_npc_state_edited_outside_play_is_read_again(game):
    """The admin saves one NPC state: the game moves to a new version, so no process keeps the old states."""
    from gameplay.services.store import _open

    Player(str(game.id)).do("look")
    state = NpcState.objects.get(game_id=game.id, npc__slug="gareth")
    state.relationship, state.mood = 77, "grim"
    state.save()
    _, ctx, _ = _open(str(game.id), for_update=False)
    assert (ctx.minds["gareth"].relationship, ctx.minds["gareth"].mood) == (77, "grim")


def test_connect_reads__fixed_whatever_the_games_size(world):
    """What a socket reads on connect (state and history) does not grow with the game either."""
    from gameplay.selectors import turns_recent

    fresh = services.game_create(session_key="fresh")
    big = services.game_create(session_key="big")
    game_grow(str(big.id), turns=300)

    def reads(game_id: str) -> int:
        world_current()
        with CaptureQueriesContext(connection) as ctx:
            services.game_state_frame(game_id=game_id)
            turns_recent(game_id=game_id, limit=30)
        return len(ctx.captured_queries)

    assert reads(str(fresh.id)) == reads(str(big.id)) <= 4
