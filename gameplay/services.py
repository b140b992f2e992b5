"""Writes of gameplay: creating and resuming games, and playing turns.

A turn loads the game's state, applies a rule in memory and saves everything in one transaction:
state, snapshot, NPC states and the turn log. It runs a fixed number of queries whatever the size of
the world or the game. The state's version guards against two tabs playing the same game at once.
"""
from __future__ import annotations

import copy
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.db.utils import IntegrityError, OperationalError

from npcs.selectors import NpcStateValue, npc_states_for_game
from npcs.persona import relationship_bounded
from npcs.services import npc_states_create, npc_states_save

from .models import Game, GameSnapshot, TavernClaim, Turn
from llm.actions import ProposedAction
from llm.lru import BoundedLRU
from memory.facts import player_name_in
from llm.prompts import Situation
from tankard_db.queries import CompiledQuery

from .rules import clock, engine, proposals, talk
from .rules.context import NpcMind, Refusal, SharedWorld, TurnContext
from .rules.situation import situation_for
from .rules.state import GameState, state_checksum, state_from_saved
from .tavern.memory import room_memory_id, whisper_memory_id
from .world import World, world_current

logger = logging.getLogger(__name__)
SNAPSHOTS_KEPT = 3
MINDS_REMEMBERED = 20_000  # games whose NPC states a process keeps (8 small values each)
TURN_ATTEMPTS = 4


class GameNotFound(Exception):
    pass


class TurnConflict(Exception):
    """The game changed under us (another tab's turn); the turn is tried again."""


@dataclass(frozen=True)
class SayPlan:
    """Everything needed to voice an NPC's reply, as plain values; nothing is applied yet."""

    game_id: str
    client_id: str | None
    npc: str
    npc_name: str
    line: str
    tier: str
    mood: str
    first_meeting: bool
    version: int
    seed: str
    situation: Situation
    minute: int = 0  # the game clock when the line was said (the reply cache keys the part of the day)
    private: bool = False  # a whisper: only this player hears it answered (gameplay/tavern/memory.py)
    tavern_id: int | None = None  # the shared tavern it was said in; None in a private one

    @property
    def memory_owner(self) -> str:
        """Where the exchange is remembered: the game, or for a whisper the game's whisper owner."""
        return whisper_memory_id(self.game_id) if self.private else self.game_id

    @property
    def memory_also(self) -> tuple[str, ...]:
        """Whose memories the reply's prompt recalls beside the game's: the player's whispers for a
        whisper only, and in a shared tavern what the room heard said aloud."""
        return ((whisper_memory_id(self.game_id),) if self.private else ()) + (
            (room_memory_id(self.tavern_id),) if self.tavern_id is not None else ())


@dataclass(frozen=True)
class NarratePlan:
    """Free text the rules could not place, to be narrated; `fallback` is the in-world answer if not."""

    game_id: str
    client_id: str | None
    line: str
    situation: Situation
    fallback: dict


@dataclass(frozen=True)
class TurnResult:
    final: dict
    state: dict | None = None
    extra: tuple[dict, ...] = ()
    say: SayPlan | None = None
    narrate: NarratePlan | None = None
    replayed: bool = False


NARRATABLE_MIN_WORDS = 3


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
    from .tavern.selectors import tavern_claims, patron_name

    return SharedWorld(tavern_id=tavern_id, patron=patron_name(tavern_id=tavern_id, game_id=str(game_id)),
                       claimed=tavern_claims(tavern_id=tavern_id))


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


# --- commands ------------------------------------------------------------------------------------
def turn_command(*, game_id: str, client_id: str | None, text: str, tavern_id: int | None = None) -> TurnResult:
    """Apply a typed command; the result holds the final frame, and a say plan when it was speech.
    `tavern_id`: the shared tavern it is played in (its claims count), None in a private one."""

    def run() -> TurnResult:
        opened = _open_unless_replayed(game_id, client_id, for_update=True, tavern_id=tavern_id)
        if isinstance(opened, TurnResult):
            return opened
        game, ctx, restored = opened
        try:
            outcome = engine.command_apply(ctx, text)
        except Refusal as refusal:
            final = {"type": "error", "reply_to": client_id, "code": refusal.code, "text": refusal.text}
            if refusal.code == "unknown_command" and len(text.split()) >= NARRATABLE_MIN_WORDS:
                return TurnResult(final={}, narrate=NarratePlan(str(game.pk), client_id, text, situation_for(ctx, None), final))
            _log_turn(game, client_id, "command", text, final, minute=ctx.state.minute)
            return TurnResult(final=final)
        if outcome.say_request is not None:
            request = outcome.say_request
            return TurnResult(final={}, say=_say_plan(ctx, game, client_id, request.npc, request.text, private=request.private))
        version = _save(game, ctx) if outcome.changed or restored else game.version
        final = {"type": "narration", "reply_to": client_id, "text": outcome.text}
        _log_turn(game, client_id, "command", text, final, minute=ctx.state.minute)
        state_frame = engine.state_frame(ctx, game_id=str(game.pk), version=version) if outcome.changed or restored else None
        return TurnResult(final=final, state=state_frame, extra=_restored_frames(restored))

    return _with_retries(run)


def _log_turn(game: Game, client_id: str | None, kind: str, text: str, final: dict, *, minute: int, npc: str = "", source: str = "") -> None:
    Turn.objects.create(game=game, version=game.version, client_id=client_id or None, kind=kind, npc_slug=npc,
                        text=text, final=final, source=source, game_minute=minute)


# --- speech --------------------------------------------------------------------------------------
def _say_plan(ctx: TurnContext, game: Game, client_id: str | None, npc_slug: str, line: str, *, private: bool = False) -> SayPlan:
    npc = ctx.world.npcs[npc_slug]
    mind = ctx.mind(npc_slug)
    return SayPlan(
        game_id=str(game.pk), client_id=client_id, npc=npc_slug, npc_name=npc.name, line=line,
        tier=ctx.tier(npc_slug), mood=mind.mood, first_meeting=not mind.flags.get("met"),
        version=game.version, seed=f"{game.pk}:{game.version}:{npc_slug}",
        situation=situation_for(ctx, npc_slug), minute=ctx.state.minute, private=private,
        tavern_id=ctx.shared.tavern_id if ctx.shared is not None else None,
    )


def say_prepare(*, game_id: str, client_id: str | None, npc: str, text: str, private: bool = False,
                tavern_id: int | None = None) -> TurnResult:
    """Check that the NPC can be spoken to now; nothing is applied until `say_commit`. `private`:
    a whisper; `tavern_id`: the shared tavern it is said in."""

    def run() -> TurnResult:
        opened = _open_unless_replayed(game_id, client_id, for_update=False)
        if isinstance(opened, TurnResult):
            return opened
        game, ctx, _ = opened
        if tavern_id is not None:  # nothing is claimed before the commit: the claims are not read
            ctx.shared = SharedWorld(tavern_id=tavern_id, patron="")
        try:
            addressed = talk.npc_to_address(ctx, npc)
        except Refusal as refusal:
            return TurnResult(final={"type": "error", "reply_to": client_id, "code": refusal.code, "text": refusal.text})
        return TurnResult(final={}, say=_say_plan(ctx, game, client_id, addressed.slug, text, private=private))

    return run()  # it only reads: no transaction, so no write lock taken on SQLite


def say_plan_inspect(*, game_id: str, npc: str, text: str) -> SayPlan:
    """A say plan for the prompt inspector: like `say_prepare`, but for any NPC, present or not."""
    game, ctx, _ = _open(game_id, for_update=False)
    if npc not in ctx.world.npcs:
        raise Refusal("No such NPC.", code="unknown_npc")
    return _say_plan(ctx, game, None, npc, text)


def say_commit(*, plan: SayPlan, reply: str, source: str, actions: tuple[ProposedAction, ...] = ()) -> TurnResult:
    """Store a finished NPC reply as a turn and apply what the conversation changes, exactly once."""

    def run() -> TurnResult:
        opened = _open_unless_replayed(plan.game_id, plan.client_id, for_update=True, tavern_id=plan.tavern_id)
        if isinstance(opened, TurnResult):
            return opened
        game, ctx, restored = opened
        if plan.npc in ctx.world.npcs:
            if not plan.private:  # a name whispered stays out of the situation every public prompt carries
                ctx.state.player_name = player_name_in(plan.line) or ctx.state.player_name
            talk.conversation_apply(ctx, plan.npc, plan.line)
            for action in actions:
                proposals.proposal_apply(ctx, plan.npc, action)
        extra_lines = list(ctx.lines)
        version = _save(game, ctx)
        final = {"type": "npc.end", "reply_to": plan.client_id, "npc": plan.npc, "text": reply, "source": source}
        _log_turn(game, plan.client_id, "say", plan.line, final, minute=ctx.state.minute, npc=plan.npc, source=source)
        extra = _restored_frames(restored) + ((({"type": "narration", "reply_to": None, "text": "\n".join(extra_lines)}),) if extra_lines else ())
        return TurnResult(final=final, state=engine.state_frame(ctx, game_id=str(game.pk), version=version), extra=extra)

    return _with_retries(run)


def narration_commit(*, plan: NarratePlan, text: str | None) -> TurnResult:
    """Store a narrated turn (or, without narration, the in-world refusal) exactly once."""

    def run() -> TurnResult:
        game, state, _ = _load(plan.game_id, for_update=True, replay_of=plan.client_id)
        if (replayed := _replayed(game, plan.client_id)) is not None:
            return replayed
        final = {"type": "narration", "reply_to": plan.client_id, "text": text} if text else plan.fallback
        _log_turn(game, plan.client_id, "command", plan.line, final, minute=state.minute, source="llm" if text else "")
        return TurnResult(final=final)

    return _with_retries(run)


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
