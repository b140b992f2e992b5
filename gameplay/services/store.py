"""A game as a turn loads and saves it. Loading runs one compiled query (the replay of a resent frame
read with it), restores the state from a snapshot when its checksum fails, and reuses the NPC states
this process last saw at the game's version; saving checks the version (another tab's turn is a
conflict, played again), writes a snapshot over the oldest kept, the NPC states changed, the shared
tavern's claims and the turn log."""
from __future__ import annotations

import copy
import logging
import random
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import OuterRef, Subquery
from django.db.utils import IntegrityError, OperationalError
from django.utils import timezone

from llm.lru import BoundedLRU
from npcs.persona import relationship_bounded
from npcs.selectors import NpcStateValue, npc_states_for_game
from npcs.services import npc_states_save
from tankard_db.queries import CompiledQuery

from ..models import Game, GameSnapshot, TavernClaim, Turn
from ..rules.context import NpcMind, SharedWorld, TurnContext
from ..rules.state import GameState, state_checksum, state_from_saved
from ..world import World, world_current
from .plans import GameNotFound, TurnConflict, TurnResult

logger = logging.getLogger(__name__)
SNAPSHOTS_KEPT = 3
MINDS_REMEMBERED = 20_000  # games whose NPC states a process keeps (8 small values each)
TURN_ATTEMPTS = 4


def _load(game_id: str, *, for_update: bool, replay_of: str | None = None) -> tuple[Game, GameState | None, bool]:
    """The game and its state (restored from a snapshot if its checksum fails), and whether it was
    restored. With `replay_of`, the same query also reads the final frame of the turn with that
    client id, if it was played already (`game.replayed_final`, else None)."""
    query = _GAME_QUERIES[(for_update, bool(replay_of))]
    try:
        rows = query.rows(game_id=game_id, client_id=replay_of) if replay_of else query.rows(game_id=game_id)
    except ValueError as exc:  # not a game id
        raise GameNotFound(game_id) from exc
    if not rows:
        raise GameNotFound(game_id)
    game = Game.from_db(connection.alias, _GAME_COLUMNS, rows[0][:len(_GAME_COLUMNS)])
    game.replayed_final = rows[0][len(_GAME_COLUMNS)] if replay_of else None
    if game.replayed_final is not None:
        return game, None, False  # the caller answers with the replay; no state is needed
    if (state := state_from_saved(game.state, game.checksum)) is not None:
        return game, state, False
    logger.error("game %s: saved state failed its checksum; restoring a snapshot", game_id)
    for snap in GameSnapshot.objects.filter(game=game).order_by("-version")[:SNAPSHOTS_KEPT + 2]:
        if (state := state_from_saved(snap.state, snap.checksum)) is not None:
            return game, state, True
    raise GameNotFound(game_id)


# Every turn loads its game with one of these (with or without the write lock, with or without the
# check for a resent frame): compiled once, they cost a tenth of building them each time.
_GAME_COLUMNS = ("id", "state", "version", "checksum")


def _game_query(*, for_update: bool, replay: bool) -> CompiledQuery:
    def build(game_id, client_id=None):
        games = Game.objects.select_for_update() if for_update else Game.objects.all()
        if not replay:
            return games.filter(pk=game_id).values_list(*_GAME_COLUMNS)
        played = Turn.objects.filter(game_id=OuterRef("pk"), client_id=client_id).values("final")[:1]
        games = games.filter(pk=game_id).annotate(replayed_final=Subquery(played, output_field=models.JSONField()))
        return games.values_list(*_GAME_COLUMNS, "replayed_final")

    return CompiledQuery(build, game_id=uuid.UUID, **({"client_id": str} if replay else {}))


_GAME_QUERIES = {(lock, replay): _game_query(for_update=lock, replay=replay) for lock in (False, True) for replay in (False, True)}


# The NPC states of a game at a version, as this process last read or wrote them. They change only
# in the transaction that moves the game to a new version (`_save`, or an edit in the admin, which
# moves it too: gameplay/signals.py), so a version read with the game says whether they are still
# right, and a turn reads one table less (docs/benchmarks.md, "Load test").
_minds_seen: BoundedLRU[tuple[str, int], dict[str, NpcStateValue]] = BoundedLRU(MINDS_REMEMBERED)


def _minds(game_id, version: int) -> dict[str, NpcMind]:
    key = (str(game_id), version)
    values = _minds_seen.get(key)
    if values is None:
        values = npc_states_for_game(game_id=game_id)
        _minds_seen.put(key, copy.deepcopy(values))
    return {slug: NpcMind(mood=v.mood, relationship=v.relationship, flags=copy.deepcopy(v.flags)) for slug, v in values.items()}


def _minds_saved(game_id, version: int, minds: dict[str, NpcMind]) -> None:
    """The states a turn leaves, known for its new version once it commits."""
    values = {slug: NpcStateValue(slug, m.mood, relationship_bounded(m.relationship), copy.deepcopy(m.flags))
              for slug, m in minds.items()}
    transaction.on_commit(lambda: _minds_seen.put((str(game_id), version), values))


def _context(world: World, state: GameState, minds: dict[str, NpcMind], seed: str) -> TurnContext:
    return TurnContext(world=world, state=state, minds=minds, rng=random.Random(seed))


def _open(game_id: str, *, for_update: bool) -> tuple[Game, TurnContext, bool]:
    """The game, a context to play a turn in (seeded by the game's version), and whether its state
    had to be restored from a snapshot."""
    return _open_unless_replayed(game_id, None, for_update=for_update)  # no client id: never a replay


def _open_unless_replayed(game_id: str, client_id: str | None, *, for_update: bool,
                          tavern_id: int | None = None) -> TurnResult | tuple[Game, TurnContext, bool]:
    """Like `_open`, but the replayed result when this client id was played before (a resent frame
    is answered as it was, never applied twice), found by the same query as the game. In a shared
    tavern (`tavern_id`) the context knows what is claimed there."""
    world = world_current()
    game, state, restored = _load(game_id, for_update=for_update, replay_of=client_id)
    if (replayed := _replayed(game, client_id)) is not None:
        return replayed
    ctx = _context(world, state, _minds(game.pk, game.version), f"{game.pk}:{game.version}")
    if tavern_id is not None:
        ctx.shared = _shared_world(tavern_id, game.pk)
    return game, ctx, restored


def _shared_world(tavern_id: int, game_id) -> SharedWorld:
    from ..tavern.selectors import patrons_by_location, tavern_claims, patron_name

    return SharedWorld(tavern_id=tavern_id, patron=patron_name(tavern_id=tavern_id, game_id=str(game_id)),
                       claimed=tavern_claims(tavern_id=tavern_id),
                       others=patrons_by_location(tavern_id=tavern_id, but=str(game_id)))


def _replayed(game: Game, client_id: str | None) -> TurnResult | None:
    """The answer to a frame already played, read by `_load(..., replay_of=client_id)`; else None."""
    if client_id and game.replayed_final is not None:
        return TurnResult(final={**game.replayed_final, "replayed": True}, replayed=True)
    return None


def _save(game: Game, ctx: TurnContext) -> int:
    data = ctx.state.to_json()
    checksum = state_checksum(data)
    version = game.version + 1
    if not Game.objects.filter(pk=game.pk, version=game.version).update(state=data, checksum=checksum, version=version):
        raise TurnConflict(str(game.pk))
    # The snapshot takes the place of the oldest kept (one statement: insert, or update on its slot).
    GameSnapshot.objects.bulk_create(
        [GameSnapshot(game=game, slot=version % SNAPSHOTS_KEPT, version=version, state=data, checksum=checksum,
                      created_at=timezone.now())],
        update_conflicts=True, unique_fields=["game", "slot"], update_fields=["version", "state", "checksum", "created_at"],
    )
    if ctx.changed_minds:
        changed = {s: NpcStateValue(s, ctx.minds[s].mood, ctx.minds[s].relationship, ctx.minds[s].flags) for s in ctx.changed_minds}
        npc_states_save(game_id=game.pk, changed=changed, npc_ids={s: ctx.world.npcs[s].id for s in changed if s in ctx.world.npcs})
    if all(slug in ctx.world.npcs for slug in ctx.changed_minds):  # else what was stored differs: read it next time
        _minds_saved(game.pk, version, ctx.minds)
    _claims_store(game, ctx)
    game.version = version
    return version


def _claims_store(game: Game, ctx: TurnContext) -> None:
    """The shared tavern's claims this turn made, in its transaction: when another player's claim
    of the same key committed first, the turn is played again, and sees it claimed."""
    for key in dict.fromkeys(ctx.claims):
        try:
            with transaction.atomic():
                TavernClaim.objects.create(tavern_id=ctx.shared.tavern_id, key=key, game=game, name=ctx.shared.patron)
        except IntegrityError as exc:
            raise TurnConflict(f"{game.pk}: {key} claimed first by another") from exc


def _with_retries(fn: Callable[[], TurnResult]) -> TurnResult:
    """Run a turn in one transaction, again after a conflict or a busy database; past the attempts
    or TANKARD_TURN_BUSY_SECONDS the error goes up and the player is told `server_busy`. The bound
    matters: every socket of a process shares one database thread, so a stuck turn stalls them all."""
    deadline = time.monotonic() + settings.TANKARD_TURN_BUSY_SECONDS
    for attempt in range(TURN_ATTEMPTS):
        try:
            with transaction.atomic():
                return fn()
        except TurnConflict:
            logger.info("turn conflict, retrying (attempt %d)", attempt + 1)
        except OperationalError:
            if attempt == TURN_ATTEMPTS - 1 or time.monotonic() >= deadline:
                raise
            logger.warning("database busy, retrying the turn (attempt %d)", attempt + 1)
            connection.close_if_unusable_or_obsolete()  # a connection that died (a restarted server): the next try opens one
            time.sleep(0.05 * (attempt + 1))
    raise TurnConflict("gave up")


RESTORED_TEXT = "You blink. The last few moments blur, as if the tavern itself lost its place; you find yourself as you were a little earlier."


def _restored_frames(restored: bool) -> tuple[dict, ...]:
    return ({"type": "narration", "reply_to": None, "text": RESTORED_TEXT},) if restored else ()


def _log_turn(game: Game, client_id: str | None, kind: str, text: str, final: dict, *, minute: int, npc: str = "", source: str = "") -> None:
    Turn.objects.create(game=game, version=game.version, client_id=client_id or None, kind=kind, npc_slug=npc,
                        text=text, final=final, source=source, game_minute=minute)
