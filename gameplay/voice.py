"""Voicing an NPC's reply: prompt from plain values, streamed from the LLM token by token, and the
fallback ladder when the model is slow, wrong or gone (persona lines that fit the moment, then an
in-world deferral). A stream cut mid-sentence is finished in character. No technical word ever
reaches the player."""
from __future__ import annotations

import logging
import random
import time
from contextlib import aclosing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from channels.db import database_sync_to_async
from django.conf import settings

from llm.actions import MarkerFilter, ProposedAction, parse_actions
from llm.client import Finished, LLMStreamCut, LLMUnavailable, Queued, Thinking, Token, acomplete, astream_reply
from llm.gate import PRIORITY_PLAYER
from llm.prompts import Persona, PromptBudget, PromptResult, Turn, build_narration_messages, build_npc_messages
from npcs.persona import NpcDef, busy_line, cutoff_line, npc_persona_values, persona_reply, thinking_line

from . import limits
from .world import world_current

logger = logging.getLogger(__name__)
Send = Callable[[dict], Awaitable[None]]
CANARY = "TANKARD-CANARY-7f3a"


@dataclass(frozen=True)
class VoicedReply:
    text: str
    source: str  # llm, cache, pregen or fallback
    actions: tuple[ProposedAction, ...] = ()
    tokens_in: int = 0
    tokens_out: int = 0
    first_token_s: float | None = None


def prompt_build(plan, npc: NpcDef, *, memories=(), recent=()) -> PromptResult:
    """The messages for this reply, fitted to the model's context window."""
    cfg = settings.TANKARD_LLM
    budget = PromptBudget.from_context_window(cfg["CONTEXT_WINDOW"], cfg["MAX_REPLY_TOKENS"])
    return build_npc_messages(
        persona=Persona(**npc_persona_values(npc)), situation=plan.situation,
        recent=[Turn(speaker, text) for speaker, text in recent], memories=memories,
        player_line=plan.line, budget=budget, canary=CANARY,
    )


async def avoice_reply(plan, send: Send) -> VoicedReply:
    """Stream the NPC's reply to `send` as it is generated; always returns a whole reply."""
    world = await database_sync_to_async(world_current)()
    npc = world.npcs[plan.npc]
    rng = random.Random(plan.seed)
    if not await database_sync_to_async(limits.llm_tokens_left)(game_id=plan.game_id):
        return await _afallback(plan, npc, send, rng, reason="token_budget")
    prompt = await database_sync_to_async(prompt_build)(plan, npc)
    return await _astream(plan, npc, prompt, send, rng)


async def _astream(plan, npc: NpcDef, prompt: PromptResult, send: Send, rng: random.Random) -> VoicedReply:
    markers, shown, raw = MarkerFilter(), [], []
    started, first_token_s, thinking_sent = time.monotonic(), None, False

    async def show(text: str) -> None:
        if text:
            shown.append(text)
            await send({"type": "npc.token", "reply_to": plan.client_id, "npc": plan.npc, "text": text})

    stream = astream_reply(list(prompt.messages), priority=PRIORITY_PLAYER, conversation=f"{plan.game_id}:{plan.npc}")
    try:
        async with aclosing(stream):
            async for event in stream:
                if isinstance(event, (Queued, Thinking)) and not thinking_sent:
                    thinking_sent = True
                    line = busy_line(npc, rng) if isinstance(event, Queued) else thinking_line(npc, rng)
                    await send({"type": "npc.thinking", "reply_to": plan.client_id, "npc": plan.npc, "text": line})
                elif isinstance(event, Token):
                    first_token_s = first_token_s or time.monotonic() - started
                    raw.append(event.text)
                    await show(markers.feed(event.text))
                elif isinstance(event, Finished):
                    await show(markers.flush())
                    if not "".join(shown).strip():
                        return await _afallback(plan, npc, send, rng, reason="empty")
                    return _finished(plan, npc, raw, shown, event, first_token_s)
    except LLMUnavailable as exc:
        logger.warning("LLM unavailable (%s) for %s; falling back", exc.kind, plan.npc)
        if shown:
            return await _afinish_cut(plan, npc, raw, shown, send, rng, first_token_s)
        return await _afallback(plan, npc, send, rng, reason=exc.kind)
    except LLMStreamCut as exc:
        logger.warning("LLM stream cut (%s) for %s; finishing in character", exc.kind, plan.npc)
        await show(markers.flush())
        return await _afinish_cut(plan, npc, raw, shown, send, rng, first_token_s)
    return await _afallback(plan, npc, send, rng, reason="empty")


def _finished(plan, npc, raw, shown, event: Finished, first_token_s) -> VoicedReply:
    _, actions = parse_actions("".join(raw))
    text = "".join(shown).strip()
    return VoicedReply(text=text, source="llm", actions=actions, tokens_in=event.prompt_tokens or 0,
                       tokens_out=event.completion_tokens, first_token_s=first_token_s)


async def _afinish_cut(plan, npc, raw, shown, send, rng, first_token_s) -> VoicedReply:
    ending = cutoff_line(npc, rng)
    sep = "" if not shown or shown[-1].endswith((" ", "\n")) else " "
    await send({"type": "npc.token", "reply_to": plan.client_id, "npc": plan.npc, "text": sep + ending})
    text = ("".join(shown) + sep + ending).strip()
    return VoicedReply(text=text, source="fallback", tokens_out=len(raw), first_token_s=first_token_s)


async def _afallback(plan, npc: NpcDef, send: Send, rng: random.Random, *, reason: str) -> VoicedReply:
    """The ladder's lower rungs: the NPC's own lines for the moment, else an in-world deferral."""
    text = persona_reply(npc, plan.line, tier=plan.tier, first_meeting=plan.first_meeting, rng=rng)
    if not text:
        text = busy_line(npc, rng)
    for piece in _pieces(text):
        await send({"type": "npc.token", "reply_to": plan.client_id, "npc": plan.npc, "text": piece})
    return VoicedReply(text=text, source="fallback")


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]


NARRATION_TOKENS = 60


async def anarrate(plan) -> str | None:
    """A short narrated moment for free text, or None when the model cannot give one now."""
    if not await database_sync_to_async(limits.llm_tokens_left)(game_id=plan.game_id):
        return None
    cfg = settings.TANKARD_LLM
    messages = await database_sync_to_async(build_narration_messages)(
        situation=plan.situation, player_line=plan.line, context_window=cfg["CONTEXT_WINDOW"], reply_tokens=NARRATION_TOKENS
    )
    try:
        finished = await acomplete(list(messages), priority=PRIORITY_PLAYER, max_tokens=NARRATION_TOKENS, conversation=f"{plan.game_id}:narrator")
    except (LLMUnavailable, LLMStreamCut) as exc:
        logger.info("no narration (%s); answering with suggestions", exc.kind)
        return None
    text, _ = parse_actions(finished.text)  # the narrator proposes nothing: markers are dropped
    await database_sync_to_async(limits.llm_tokens_spend)(game_id=plan.game_id, tokens=(finished.prompt_tokens or 0) + finished.completion_tokens)
    return text or None
