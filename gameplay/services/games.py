"""Games: one created (and the moment every game opens in, for pre-generation), the game of a
browser session, and what is done to a game or read of it from outside play: a staff grant, the
player taken to an NPC (for the playtest), the state frame, whether a game exists."""
from __future__ import annotations

import logging
import uuid

from django.db import transaction

from npcs.services import npc_states_create

from ..models import Game, GameSnapshot
from ..rules import clock, engine
from ..rules.context import NpcMind
from ..rules.state import GameState, state_checksum
from ..world import World, world_current
from .plans import GameNotFound, SayPlan, TurnResult, _say_plan
from .store import _context, _load, _log_turn, _minds_saved, _open, _open_unless_replayed, _save, _with_retries

logger = logging.getLogger(__name__)


# --- games ---------------------------------------------------------------------------------------
def game_create(*, session_key: str = "", user=None, world: World | None = None) -> Game:
    world = world or world_current()
    state, minds = _opening(world)
    data = state.to_json()
    with transaction.atomic():
        game = Game.objects.create(session_key=session_key, user=user if getattr(user, "is_authenticated", False) else None,
                                   state=data, checksum=state_checksum(data))
        GameSnapshot.objects.create(game=game, version=0, state=data, checksum=game.checksum)
        npc_states_create(game_id=game.id, npcs=world.npcs.values())
        _minds_saved(game.id, game.version, minds)
    return game


def _opening(world: World) -> tuple[GameState, dict[str, NpcMind]]:
    """A new game's state and NPC minds."""
    cfg = world.config
    state = GameState(minute=clock.minute_of(cfg.start_day, cfg.start_hour), location=cfg.start_location, gold=cfg.start_gold)
    return state, {npc.slug: NpcMind(mood=npc.initial_mood, relationship=0, flags={}) for npc in world.npcs.values()}


def opening_say_plans(*, world: World | None = None) -> list[SayPlan]:
    """The moment every new game opens in, as each NPC present then would be spoken to (a plan of
    no game and no line): what pre-generation prepares for before anyone has played."""
    world = world or world_current()
    state, minds = _opening(world)
    ctx = _context(world, state, minds, "opening")
    opening = Game(pk=uuid.UUID(int=0), version=0)
    return [_say_plan(ctx, opening, None, npc.slug, "") for npc in ctx.present_npcs()]


def game_for_session(*, session, user=None) -> Game:
    """The game tied to this browser session, created on the first visit (and again when the saved
    game and all its snapshots are unreadable: better a fresh start than a door that never opens)."""
    game_id = session.get("game_id")
    if game_id:
        try:
            return _load(game_id, for_update=False)[0]
        except GameNotFound:
            logger.error("game %s of a session cannot be loaded; starting a new one", game_id)
    if not session.session_key:
        session.save()
    game = game_create(session_key=session.session_key, user=user)
    session["game_id"] = str(game.id)
    return game


# --- from outside play ---------------------------------------------------------------------------
def game_grant(*, game_id: str, key: str, text: str, gold: int = 0, item: str = "") -> TurnResult:
    """Give a game gold or an item from outside play (staff making good after an outage), at most
    once per `key`: the grant is logged as a turn whose client id is the key, in the same
    transaction, so a job that runs twice (its worker died before acknowledging it) applies it once.
    The result says `replayed` when an earlier run already applied it."""
    client_id = f"grant:{key}"[:64]

    def run() -> TurnResult:
        opened = _open_unless_replayed(game_id, client_id, for_update=True)
        if isinstance(opened, TurnResult):
            return opened
        game, ctx, restored = opened
        ctx.state.gold += max(0, gold)
        if item in ctx.world.items:
            ctx.state.add_item(item)
        version = _save(game, ctx)
        final = {"type": "narration", "reply_to": None, "text": text}
        _log_turn(game, client_id, "event", "", final, minute=ctx.state.minute)
        return TurnResult(final=final, state=engine.state_frame(ctx, game_id=str(game.pk), version=version))

    return _with_retries(run)


def game_meet(*, game_id: str, npc: str, search_hours: int = 7 * 24) -> bool:
    """Put the player where `npc` is now, so that they can be spoken to (the playtest does this before
    a line to an NPC who is not present): the player is moved to the NPC's location; when the NPC is
    away at this hour, the clock is first set on to the start of the next hour they are about (nothing
    else that time would change happens: no tiredness, no daily events). Returns whether the game
    changed; False also when the NPC is unknown or never about in the next `search_hours`."""

    def run() -> bool:
        game, ctx, _ = _open(game_id, for_update=True)
        if npc not in ctx.world.npcs:
            return False
        target = ctx.world.npcs[npc]
        minute = ctx.state.minute
        for _hour in range(search_hours):
            if ctx.npc_location(target) is not None:
                break
            ctx.state.minute = (ctx.state.minute // 60 + 1) * 60
        where = ctx.npc_location(target)
        if where is None:
            ctx.state.minute = minute
            return False
        if where == ctx.state.location and ctx.state.minute == minute:
            return False
        ctx.state.location = where
        _save(game, ctx)
        return True

    with transaction.atomic():
        return run()


# --- reading -------------------------------------------------------------------------------------
def game_state_frame(*, game_id: str) -> dict:
    game, ctx, _ = _open(game_id, for_update=False)
    return engine.state_frame(ctx, game_id=str(game.pk), version=game.version)


def game_exists(*, game_id: str) -> bool:
    try:
        return Game.objects.filter(pk=uuid.UUID(str(game_id))).exists()
    except ValueError:
        return False
