"""Playing one client frame to its end, asynchronously: commands through the rules, speech through
an NPC's voice, every frame handed to `send`. Knows nothing of sockets: the consumer passes `send`,
and in a shared tavern the socket's `Room`, which serves the NPC's line and relays what is said
aloud (gameplay/tavern/room.py)."""
from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from contextlib import nullcontext


from llm.metrics import reply_observed
from llm.reply_cache import FlagOutcome, reply_cache_flag
from memory.services import memory_record_exchange
from .logs import log_context

from .aio import NORMAL, URGENT, auncancelled, db_async
from . import limits, services
from .metrics import turn_observed
from .protocol import ClientFrame, error_frame
from .background import answering, embed_soon
from .tavern.memory import room_heard_record, room_memory_id
from .tavern.room import NpcBusy, Room
from .voice import KeepInCache, VoiceInputs, VoicedReply, anarrate, avoice_reply, voice_inputs

logger = logging.getLogger(__name__)
Send = Callable[[dict], Awaitable[None]]


FINAL_TYPES = frozenset({"narration", "npc.end", "error"})
NAME_COMMAND = re.compile(r"^name(?!\s+the\s+culprit\b)(?:\s+(?P<name>.*))?$", re.IGNORECASE | re.DOTALL)


async def aframe_play(*, game_id: str, frame: ClientFrame, send: Send, lock: asyncio.Lock, speaking: set[str],
                      room: Room | None = None) -> None:
    """Answer one client frame with exactly one final frame, whatever happens inside. `room`: the
    socket's place in a shared tavern (None in a private one)."""

    answered = False

    async def send_observed(out: dict) -> None:
        nonlocal answered
        final = out.get("type") in FINAL_TYPES and out.get("reply_to") == frame.id
        if final and answered and out.get("code") == "server_busy":
            return  # something failed after the answer was sent (metrics, memory): one final frame only
        await send(out)
        if final and not answered:
            answered = True
            turn_observed(kind=frame.type, outcome=out.get("code", "ok") if out["type"] == "error" else "ok")

    with log_context(game_id=game_id, turn_id=frame.id), answering() if frame.type == "say" else nullcontext():
        await _aframe_play(game_id=game_id, frame=frame, send=send_observed, lock=lock, speaking=speaking, room=room)


async def _aframe_play(*, game_id: str, frame: ClientFrame, send: Send, lock: asyncio.Lock, speaking: set[str],
                       room: Room | None) -> None:
    try:
        if room is not None and frame.type == "command" and (named := NAME_COMMAND.match(frame.text)):
            await _arename(game_id, frame, named.group("name") or "", room, send)
            return
        if frame.type == "flag":
            if not await db_async(limits.turn_allowed, priority=URGENT)(game_id=game_id):
                await send(error_frame("rate_limited", frame.id))
                return
            async with lock:  # after the record of a reply still being finished
                outcome = await db_async(reply_cache_flag, priority=URGENT)(game_id=game_id, target=frame.target)
            await _aflagged(outcome, frame, send)
            return
        tavern_id = room.tavern.id if room is not None else None
        async with lock:
            started = await db_async(_turn_start, priority=NORMAL if frame.type == "say" else URGENT)(game_id, frame, tavern_id)
        if started is None:
            await send(error_frame("rate_limited", frame.id))
            return
        result, inputs = started
        if result.say is not None:
            await _aconverse(result.say, inputs, send=send, lock=lock, speaking=speaking, room=room)
            return
        if result.narrate is not None:
            text = await anarrate(result.narrate)
            async with lock:
                result = await db_async(services.narration_commit)(plan=result.narrate, text=text)
        await _asend_result(result, send)
        if room is not None and result.aloud is not None and not result.replayed:
            await room.aannounce(result.aloud)  # "Pilgrim waves.", words said to the room
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("turn failed (game %s, frame %s)", game_id, frame.id)
        await send(error_frame("server_busy", frame.id))


def _turn_start(game_id: str, frame: ClientFrame, tavern_id: int | None = None) -> tuple[services.TurnResult, VoiceInputs | None] | None:
    """The rate limit and the turn in one call off the event loop; for speech, the say's
    preparation and everything its reply needs before the model is asked. None when the game is
    over its limit."""
    if not limits.turn_allowed(game_id=game_id):
        return None
    if frame.type == "say":
        result = services.say_prepare(game_id=game_id, client_id=frame.id, npc=frame.npc, text=frame.text,
                                      private=frame.private, tavern_id=tavern_id)
    else:
        result = services.turn_command(game_id=game_id, client_id=frame.id, text=frame.text, tavern_id=tavern_id)
    return result, (voice_inputs(result.say) if result.say is not None else None)


async def _asend_result(result: services.TurnResult, send: Send) -> None:
    await send(result.final)
    for extra in result.extra:
        await send(extra)
    if result.state is not None:
        await send(result.state)


async def _arename(game_id: str, frame: ClientFrame, raw: str, room: Room, send: Send) -> None:
    """`name <Name>` in a shared tavern: counted as a turn; the state that follows shows the name."""
    if not await db_async(limits.turn_allowed, priority=URGENT)(game_id=game_id):
        await send(error_frame("rate_limited", frame.id))
        return
    if await room.arename(raw, reply_to=frame.id, send=send):
        await send(await db_async(services.game_state_frame, priority=URGENT)(game_id=game_id))


async def _aconverse(plan: services.SayPlan, inputs: VoiceInputs, *, send: Send, lock: asyncio.Lock, speaking: set[str],
                     room: Room | None = None) -> None:
    if plan.npc in speaking:
        await send(error_frame("npc_busy", plan.client_id, name=plan.npc_name))
        return
    speaking.add(plan.npc)
    try:
        if room is None:
            await _areply(plan, inputs, send=send, lock=lock, speaking=speaking)
            return
        try:
            async with room.aserved(plan, send) as served:  # the NPC's turn for this line, in the room's hearing
                await _areply(plan, inputs, send=served, lock=lock, speaking=speaking, heard_by=None if plan.private else room.name)
        except NpcBusy:
            await send(error_frame("npc_busy", plan.client_id, name=plan.npc_name))
    finally:
        speaking.discard(plan.npc)


async def _areply(plan: services.SayPlan, inputs: VoiceInputs, *, send: Send, lock: asyncio.Lock, speaking: set[str],
                  heard_by: str | None = None) -> None:
    """Voice the NPC's reply to `plan` and conclude the turn. `heard_by`: the speaker's name in a
    shared tavern when the words were said aloud (the room remembers the exchange)."""
    started = time.monotonic()
    await send({"type": "npc.start", "reply_to": plan.client_id, "npc": plan.npc, "name": plan.npc_name})
    first_token: list[float] = []

    async def send_timed(out: dict) -> None:
        if out.get("type") == "npc.token" and not first_token:
            first_token.append(time.monotonic() - started)
        await send(out)

    async def conclude(voiced: VoicedReply, keep_in_cache: KeepInCache) -> tuple[VoicedReply, tuple[str, ...]]:
        # Under the game's lock from the commit to the memory: the player may read npc.end and
        # speak again at once, but their next line is prepared (and its prompt, and whether the
        # reply cache may answer it, decided) only once this exchange is remembered; a flag of
        # this reply waits for the serve to be recorded.
        async with lock:
            result, record_serve = await db_async(_say_commit)(plan, voiced, keep_in_cache)
            speaking.discard(plan.npc)
            try:
                await _asend_result(result, send)
            finally:  # a frame that could not be sent loses the player nothing more
                embed_later = () if result.replayed else await db_async(_remember)(plan, voiced.text, record_serve, heard_by)
        return voiced, embed_later

    async def finish(voiced: VoicedReply, keep_in_cache: KeepInCache) -> tuple[VoicedReply, tuple[str, ...]]:
        # The reply is whole: what it changes is stored, remembered and recorded even when the
        # player leaves meanwhile (a closed tab cancels the turn as its last frames go out).
        return await auncancelled(conclude(voiced, keep_in_cache))

    voiced, embed_later = await avoice_reply(plan, send_timed, inputs=inputs, finish=finish)
    for owner in embed_later:
        embed_soon(game_id=owner, npc_slug=plan.npc)
    reply_observed(npc=plan.npc, source=voiced.source, ttft_s=first_token[0] if first_token else None,
                   total_s=time.monotonic() - started, tokens_in=voiced.tokens_in, tokens_out=voiced.tokens_out)


def _say_commit(plan: services.SayPlan, voiced: VoicedReply, keep_in_cache: KeepInCache) -> tuple[services.TurnResult, Callable[[], None]]:
    """What a finished reply changes, in one call off the event loop: a new reply kept in the reply
    cache, the turn (exactly once) and the tokens spent (counted before the next line can be
    sent). Returns the turn's result, and what records the serve once the player has it."""
    record_serve = keep_in_cache()
    result = services.say_commit(plan=plan, reply=voiced.text, source=voiced.source, actions=voiced.actions)
    if voiced.tokens_in or voiced.tokens_out:
        limits.llm_tokens_spend(game_id=plan.game_id, tokens=voiced.tokens_in + voiced.tokens_out)
    return result, record_serve


def _remember(plan: services.SayPlan, reply: str, record_serve: Callable[[], None], heard_by: str | None = None) -> tuple[str, ...]:
    """After the player has the reply: the reply cache's record of the serve (statistics, and what a
    flag evicts), and the exchange in the NPC's memory: the game's, or for a whisper the game's
    whisper owner's only; said aloud in a shared tavern (`heard_by`: the speaker's name there),
    the room's too. Returns the memory owners whose records wait for their embeddings
    (`embed_soon`). The turn is committed: a failure here is logged, never answered with
    `server_busy`."""
    record_serve()
    waiting = []
    try:
        if memory_record_exchange(game_id=plan.memory_owner, npc_slug=plan.npc, player_line=plan.line, npc_reply=reply,
                                  game_minute=plan.minute):
            waiting.append(plan.memory_owner)
        if heard_by is not None and plan.tavern_id is not None and not plan.private and room_heard_record(
                tavern_id=plan.tavern_id, npc_slug=plan.npc, npc_name=plan.npc_name, speaker=heard_by, line=plan.line,
                reply=reply, game_minute=plan.minute):
            waiting.append(room_memory_id(plan.tavern_id))
    except Exception:
        logger.exception("memory of the exchange not recorded (game %s, npc %s)", plan.game_id, plan.npc)
    return tuple(waiting)


FLAGGED = '{name} catches your puzzled look and waves the words away. "Forget I said that, friend. Ask me again."'
FLAGGED_UNKNOWN = "You frown at what you last heard, but nobody seems to know what you mean."


async def _aflagged(outcome: FlagOutcome, frame: ClientFrame, send: Send) -> None:
    """A reply made no sense to the player: the cached entry behind it was evicted and the flag counted."""
    name = outcome.npc_name.split()[0] if outcome.npc_name else ""
    await send({"type": "narration", "reply_to": frame.id, "text": FLAGGED.format(name=name) if name else FLAGGED_UNKNOWN})
