"""Playing one client frame to its end, asynchronously: commands through the rules, speech through
an NPC's voice, every frame handed to `send`. Knows nothing of sockets: the consumer passes `send`."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from channels.db import database_sync_to_async

from . import limits, services
from .protocol import ClientFrame, error_frame
from .voice import anarrate, avoice_reply

logger = logging.getLogger(__name__)
Send = Callable[[dict], Awaitable[None]]


async def aframe_play(*, game_id: str, frame: ClientFrame, send: Send, lock: asyncio.Lock, speaking: set[str]) -> None:
    """Answer one client frame with exactly one final frame, whatever happens inside."""
    try:
        if not await database_sync_to_async(limits.turn_allowed)(game_id=game_id):
            await send(error_frame("rate_limited", frame.id))
            return
        async with lock:
            if frame.type == "say":
                result = await database_sync_to_async(services.say_prepare)(game_id=game_id, client_id=frame.id, npc=frame.npc, text=frame.text)
            else:
                result = await database_sync_to_async(services.turn_command)(game_id=game_id, client_id=frame.id, text=frame.text)
        if result.say is not None:
            await _aconverse(result.say, send=send, lock=lock, speaking=speaking)
            return
        if result.narrate is not None:
            text = await anarrate(result.narrate)
            async with lock:
                result = await database_sync_to_async(services.narration_commit)(plan=result.narrate, text=text)
        await _asend_result(result, send)
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("turn failed (game %s, frame %s)", game_id, frame.id)
        await send(error_frame("server_busy", frame.id))


async def _asend_result(result: services.TurnResult, send: Send) -> None:
    await send(result.final)
    for extra in result.extra:
        await send(extra)
    if result.state is not None:
        await send(result.state)


async def _aconverse(plan: services.SayPlan, *, send: Send, lock: asyncio.Lock, speaking: set[str]) -> None:
    if plan.npc in speaking:
        await send(error_frame("npc_busy", plan.client_id, name=plan.npc_name))
        return
    speaking.add(plan.npc)
    try:
        await send({"type": "npc.start", "reply_to": plan.client_id, "npc": plan.npc, "name": plan.npc_name})
        voiced = await avoice_reply(plan, send)
        async with lock:
            result = await database_sync_to_async(services.say_commit)(plan=plan, reply=voiced.text, source=voiced.source, actions=voiced.actions)
        if voiced.tokens_in or voiced.tokens_out:
            await database_sync_to_async(limits.llm_tokens_spend)(game_id=plan.game_id, tokens=voiced.tokens_in + voiced.tokens_out)
        await _asend_result(result, send)
    finally:
        speaking.discard(plan.npc)
