"""Voicing an NPC's reply: from the reply cache when a kept reply fits (`voice_cache.py`), else
streamed from the LLM token by token from its prompt (`voice_prompt.py`), each sentence checked
before the player sees it, with the fallback ladder when the model is slow, wrong or gone (persona
lines that fit the moment, then an in-world deferral). A stream cut mid-sentence is finished in
character, and so is one that starts to give away its prompt or canary (the leak guard). No
technical word ever reaches the player."""
from __future__ import annotations

import asyncio
import logging
import random
import re
import time
import zlib
from contextlib import aclosing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TypeVar

from django.conf import settings

from llm.actions import MarkerFilter, ProposedAction, parse_actions
from llm.client import Finished, LLMStreamCut, LLMUnavailable, Queued, Sampling, Thinking, Token, acomplete, astream_reply
from llm.gate import PRIORITY_PLAYER
from llm.local_server import llm_is_local
from llm.prompts import PromptResult, build_narration_messages, prompt_restated
from llm.reply_cache import CacheTicket, ReplyCacheRequest, areply_cache_open, reply_cache_close, reply_cache_keep
from npcs.canon import CanonPick, canon_restatement
from npcs.persona import NpcDef, busy_line, cutoff_line, persona_reply, thinking_line

from .aio import db_async
from . import limits, metrics
from .answers import gossip_said, rumour_told
from .canon import canon_picks
from .leak_guard import CANARY, LeakGuard, leak_found, protected_text, shareable_values
from .narration_checks import narration_kept
from .reply_checks import ReplyFrame
from .reply_orders import order_given
from .reply_premises import premise_claimed
from .reply_world import check_world
from .reply_gate import SentenceGate
from .world import world_current
from .voice_cache import cached_contradicts, last_exchange, reply_cache_request, reply_cacheable, reply_match_start
from .voice_prompt import prompt_build, prompt_inspect, prompt_kept

logger = logging.getLogger(__name__)
Send = Callable[[dict], Awaitable[None]]
R = TypeVar("R")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # half a UTF-16 pair


@dataclass(frozen=True)
class VoicedReply:
    text: str
    source: str  # llm, cache, pregen or fallback
    actions: tuple[ProposedAction, ...] = ()
    tokens_in: int = 0
    tokens_out: int = 0
    first_token_s: float | None = None
    answered: bool = False  # the game's own answer to what the line asked, said in place of the model's


# Keeps a new reply in the reply cache (on the database thread, with the turn's commit); returns
# what records the serve, to call once the player has the reply (`llm.reply_cache.reply_cache_keep`).
KeepInCache = Callable[[], Callable[[], None]]
Finish = Callable[["VoicedReply", KeepInCache], Awaitable[R]]


async def avoice_reply(plan, send: Send, *, inputs: VoiceInputs, finish: Finish) -> R:
    """Stream the NPC's reply to `send` as it is generated, then hand the whole reply to `finish`
    (which stores the turn and sends its final frames) and return what it returns. `finish` gets
    the reply and a synchronous call that keeps it in the reply cache, to run in the same call off
    the event loop as storing the turn; that call returns another, which records the serve, for
    `finish` to run once the player has the reply (`llm.reply_cache.reply_cache_keep`). Identical
    asks waiting for this one look the cache up again only after `finish`.

    The first rung is the reply cache: the same question asked of the same NPC in the same context
    is answered from it (source "cache" or "pregen"); a new cacheable model reply is kept there."""
    npc, prompt = inputs.npc, inputs.prompt
    rng = random.Random(plan.seed)

    async def waiting() -> None:  # the same question is with the model for another player: share it
        await send({"type": "npc.thinking", "reply_to": plan.client_id, "npc": plan.npc, "text": thinking_line(npc, rng)})

    # the player asks what they told this NPC: never another's reply (its own name may be anyone's)
    asked_back = bool(inputs.frame and inputs.frame.recall and not inputs.frame.recall_own)
    ticket = await areply_cache_open(inputs.cache_request, cacheable=reply_cacheable(prompt) and not asked_back,
                                     conversation=None if asked_back else last_exchange(prompt), on_wait=waiting)
    try:
        if ticket.hit is not None and not cached_contradicts(plan, ticket, inputs.frame):
            voiced = await _aserve_cached(plan, ticket, send)
        else:
            voiced = await _avoice_fresh(plan, inputs, ticket, send, rng)
        return await finish(voiced, partial(reply_cache_keep, ticket, text=voiced.text, source=voiced.source,
                                            storable=not voiced.actions, answered=voiced.answered))
    finally:
        reply_cache_close(ticket)


@dataclass(frozen=True)
class VoiceInputs:
    """Everything a reply needs before the model is asked, gathered in one call off the event loop."""

    npc: NpcDef
    prompt: PromptResult
    cache_request: ReplyCacheRequest
    tokens_left: bool
    protected: str  # what the leak guard must never let through (the system prompt's own words)
    frame: ReplyFrame | None = None  # what the reply's checks read; None: from the prompt alone
    canon: tuple[CanonPick, ...] = ()  # the canon facts picked for the player's line


def voice_inputs(plan) -> VoiceInputs:
    """What the reply needs before the model is asked. The canon facts only a meaning match would
    bring take an embedding of the line: they are picked once the reply cache has no answer
    (`_ameaning_added`), since a reply from the cache needs no prompt."""
    world = world_current()
    npc = world.npcs[plan.npc]
    cache_request = reply_cache_request(plan, npc, world)
    reply_match_start(cache_request)  # a new phrasing's embedding runs while the prompt is built
    canon = canon_picks(world, npc_slug=plan.npc, line=plan.line, by_meaning=False)
    prompt, protected, frame = _prompted(plan, npc, canon)
    return VoiceInputs(npc=npc, prompt=prompt, cache_request=cache_request, tokens_left=limits.llm_tokens_left(game_id=plan.game_id),
                       protected=protected, frame=frame, canon=canon)


def _prompted(plan, npc: NpcDef, canon: tuple[CanonPick, ...], *, mark_used: bool = True) -> tuple[PromptResult, str, ReplyFrame]:
    """The prompt with these canon facts (kept for the prompt inspector), what the leak guard
    protects, and the frame the reply's checks read."""
    inspected = prompt_inspect(plan, npc, canon=canon, mark_used=mark_used)
    prompt = prompt_kept(plan, inspected)
    situation = replace(plan.situation, canon=tuple(p.fact.text for p in inspected.canon))  # with those the line before brings
    # What the NPC remembers of this player (or heard said aloud in the room) is theirs to say
    # back: only the instructions and the character sheet are protected.
    # So is what the game tells it to say (a fact asked back, its name, what is sold here).
    said = [inspected.frame.recall_said] if inspected.frame.recall_said else []
    protected = protected_text(prompt.system_text, shareable=shareable_values(situation, npc) + [m.text for m in inspected.recalled] + said)
    return prompt, protected, inspected.frame


async def _ameaning_added(plan, inputs: VoiceInputs) -> VoiceInputs:
    """The inputs with the canon facts a meaning match brings for the line, for the model: the
    prompt is built again when they add any (the embedding is usually the reply cache's already)."""
    try:
        canon = await asyncio.to_thread(canon_picks, world_current(), npc_slug=plan.npc, line=plan.line)
        if [p.fact.key for p in canon] == [p.fact.key for p in inputs.canon]:
            return inputs
        prompt, protected, frame = await db_async(_prompted)(plan, inputs.npc, canon, mark_used=False)
    except Exception:  # the keyword and always-on facts are in the prompt already
        logger.warning("canon: the facts picked by meaning could not be added for %s", plan.npc, exc_info=True)
        return inputs
    return replace(inputs, prompt=prompt, protected=protected, frame=frame, canon=canon)


CACHED_PIECE_WORDS = 4  # a cached reply streams in pieces of a few words, like the model's tokens


async def _aserve_cached(plan, ticket: CacheTicket, send: Send) -> VoicedReply:
    text = ticket.reply_text()
    words = _pieces(text)
    for start in range(0, len(words), CACHED_PIECE_WORDS):
        piece = "".join(words[start:start + CACHED_PIECE_WORDS])
        await send({"type": "npc.token", "reply_to": plan.client_id, "npc": plan.npc, "text": piece})
    return VoicedReply(text=text, source=ticket.source, first_token_s=0.0)


async def _avoice_fresh(plan, inputs: VoiceInputs, ticket: CacheTicket, send: Send, rng: random.Random) -> VoicedReply:
    npc, prompt = inputs.npc, inputs.prompt
    if not inputs.tokens_left:
        return await _afallback(plan, npc, send, rng, reason="token_budget", text=inputs.frame.recall_said if inputs.frame else None)
    if ticket.prompt_line and ticket.prompt_line != plan.line:  # the canonical question: the reply fits every phrasing
        prompt = await db_async(prompt_build)(replace(plan, line=ticket.prompt_line), npc)  # and the facts it brings
    else:
        inputs = await _ameaning_added(plan, inputs)
        prompt = inputs.prompt
    return await _astream(plan, npc, prompt, send, rng, protected=inputs.protected, frame=inputs.frame)


REGENERATIONS = 1  # a reply whose first sentence fails its checks is asked for once more, then authored


async def _astream(plan, npc: NpcDef, prompt: PromptResult, send: Send, rng: random.Random, *,
                   protected: str | None = None, frame: ReplyFrame | None = None) -> VoicedReply:
    """The model's reply, checked a sentence at a time before the player sees it (a first
    sentence that fails is regenerated once, then the NPC's own line answers)."""
    if protected is None:
        protected = protected_text(prompt.system_text, shareable=shareable_values(plan.situation, npc))
    frame = frame or ReplyFrame(npc_slug=plan.npc, line=plan.line)
    attempt = _Attempt(plan, npc, send, rng, started=time.monotonic())
    # A line asking back what the player told the NPC is asked of the model once: the facts are in
    # front of it already, and when it does not say them, the game does (the memory is the game's).
    for number in range(1 if frame.recall_said else REGENERATIONS + 1):
        voiced = await attempt.run(prompt, protected=protected, frame=frame, seed=zlib.crc32(f"{plan.seed}:{number}".encode()))
        if voiced is not None:
            if number:
                metrics.reply_outcome_observed(npc=plan.npc, outcome="regenerated")
            return voiced
        metrics.reply_check_observed(npc=plan.npc, reason=attempt.rejected)
        logger.info("reply for %s failed its checks (%s) before a word was shown: %r", plan.npc, attempt.rejected,
                    attempt.rejected_sentence)
        if attempt.contradicted is not None:  # asked again with the fact said once more, at the end of the instructions
            prompt = prompt_restated(prompt, canon_restatement(attempt.contradicted))
    metrics.reply_outcome_observed(npc=plan.npc, outcome="authored")
    return await _afallback(plan, npc, send, rng, reason=attempt.rejected, text=frame.recall_said, said_before=frame.own_earlier)


CANON_TEMPERATURE = 0.2  # a reply whose prompt carries canon facts keeps closer to the words it was shown


def reply_sampling(prompt: PromptResult, *, seed: int) -> Sampling:
    """The reply's sampling settings: TANKARD_LLM's, cooler and without repetition penalties when the
    prompt carries canon facts (a small model then says the fact it was shown rather than its own)."""
    sampling = Sampling.for_replies(seed=seed)
    if not prompt.tokens.get("canon"):
        return sampling
    return replace(sampling, temperature=min(sampling.temperature, CANON_TEMPERATURE), presence_penalty=None,
                   frequency_penalty=None)


class _Attempt:
    """One or two streams of the same reply: what they share (the thinking line is sent once)."""

    def __init__(self, plan, npc: NpcDef, send: Send, rng: random.Random, *, started: float) -> None:
        self.plan, self.npc, self.send, self.rng, self.started = plan, npc, send, rng, started
        self.thinking_sent, self.first_token_s, self.rejected = False, None, ""
        self.contradicted = None  # the canon fact the last rejected reply contradicted
        self.rejected_sentence = ""

    async def run(self, prompt: PromptResult, *, protected: str, frame: ReplyFrame, seed: int) -> VoicedReply | None:
        """The reply, or None when its first sentence failed the checks (nothing was shown)."""
        plan, npc, send, rng = self.plan, self.npc, self.send, self.rng
        markers, guard, raw = MarkerFilter(), LeakGuard(canary=CANARY, protected=protected), []
        gate = SentenceGate(frame=frame, world=check_world(world_current()))

        answer = frame.recall_said  # what the game says when nothing of the model's was shown (gameplay/answers.py)

        async def show(text: str) -> None:
            await self._send(gate.feed(text))

        async def leaked() -> VoicedReply:
            return await _afinish_leak(plan, npc, raw, gate.released, send, rng, self.first_token_s, text=answer)

        stream = astream_reply(list(prompt.messages), priority=PRIORITY_PLAYER, conversation=f"{plan.game_id}:{plan.npc}",
                               sampling=reply_sampling(prompt, seed=seed))
        try:
            async with aclosing(stream):
                async for event in stream:
                    if isinstance(event, (Queued, Thinking)) and not self.thinking_sent:
                        self.thinking_sent = True
                        line = busy_line(npc, rng) if isinstance(event, Queued) else thinking_line(npc, rng)
                        await send({"type": "npc.thinking", "reply_to": plan.client_id, "npc": plan.npc, "text": line})
                    elif isinstance(event, Token):
                        piece = _LONE_SURROGATE.sub("\ufffd", event.text)  # half a UTF-16 pair: unsendable, unstorable
                        raw.append(piece)
                        await show(guard.feed(markers.feed(piece)))
                        if guard.leaked:
                            return await leaked()
                        if gate.failed is not None or gate.full:
                            return await self._ended(gate, raw, prompt_tokens=None, completion_tokens=len(raw))
                    elif isinstance(event, Finished):
                        await show(guard.feed(markers.flush()))
                        await show(guard.flush())
                        if guard.leaked:
                            return await leaked()
                        await self._show_last(gate, complete=event.finish_reason != "length")
                        return await self._ended(gate, raw, prompt_tokens=event.prompt_tokens,
                                                 completion_tokens=event.completion_tokens)
        except LLMUnavailable as exc:
            logger.warning("LLM unavailable (%s) for %s; falling back", exc.kind, plan.npc)
            if gate.released:
                return await _afinish_cut(plan, npc, raw, gate.released, send, rng, self.first_token_s, reason=exc.kind)
            return await _afallback(plan, npc, send, rng, reason=exc.kind, text=answer)
        except LLMStreamCut as exc:
            logger.warning("LLM stream cut (%s) for %s; finishing in character", exc.kind, plan.npc)
            await show(guard.feed(markers.flush()))
            if guard.leaked:
                return await leaked()
            await self._send(gate.finish(complete=True))  # the words so far, if they pass, then the NPC trails off
            if not gate.released:
                return await _afallback(plan, npc, send, rng, reason="cut", text=answer)
            return await _afinish_cut(plan, npc, raw, gate.released, send, rng, self.first_token_s)
        return await _afallback(plan, npc, send, rng, reason="empty", text=answer)

    async def _show_last(self, gate: SentenceGate, *, complete: bool) -> None:
        await self._send(gate.finish(complete=complete))

    async def _send(self, text: str) -> None:
        """A checked sentence, a word a frame, as the model's tokens came."""
        if not text:
            return
        self.first_token_s = self.first_token_s or time.monotonic() - self.started
        for piece in _pieces(text):
            await self.send({"type": "npc.token", "reply_to": self.plan.client_id, "npc": self.plan.npc, "text": piece})

    async def _ended(self, gate: SentenceGate, raw: list[str], *, prompt_tokens: int | None,
                     completion_tokens: int) -> VoicedReply | None:
        """The reply as the gate let it through: None when nothing passed (the caller regenerates)."""
        if gate.failed is not None and gate.failed.reason == "canon":
            metrics.canon_veto_observed(npc=self.plan.npc)
        if gate.failed is not None and gate.released:
            metrics.reply_check_observed(npc=self.plan.npc, reason=gate.failed.reason)
        if not gate.released:
            self.rejected = gate.failed.reason if gate.failed is not None else "empty"
            self.contradicted = gate.failed.fact if gate.failed is not None else None
            self.rejected_sentence = gate.failed.text if gate.failed is not None else ""
            return None
        outcome = "cut" if gate.failed is not None else "corrected" if gate.corrections else "passed"
        metrics.reply_outcome_observed(npc=self.plan.npc, outcome=outcome)
        _, actions = parse_actions("".join(raw))
        return VoicedReply(text=gate.text, source="llm", actions=actions, tokens_in=prompt_tokens or 0,
                           tokens_out=completion_tokens, first_token_s=self.first_token_s)


async def _afinish_cut(plan, npc, raw, shown, send, rng, first_token_s, *, reason: str = "cut") -> VoicedReply:
    metrics.reply_fallback_observed(npc=plan.npc, reason=reason)
    ending = cutoff_line(npc, rng)
    sep = "" if not shown or shown[-1].endswith((" ", "\n")) else " "
    await send({"type": "npc.token", "reply_to": plan.client_id, "npc": plan.npc, "text": sep + ending})
    text = ("".join(shown) + sep + ending).strip()
    return VoicedReply(text=text, source="fallback", tokens_out=len(raw), first_token_s=first_token_s)


async def _afinish_leak(plan, npc, raw, shown, send, rng, first_token_s, *, text: str = "") -> VoicedReply:
    """The reply began to give its prompt away: it stops there and ends in character, proposing
    nothing (`text`: what the game says when nothing was shown yet, as for a failed reply)."""
    logger.warning("reply for %s recited its prompt; stopped and finished in character", plan.npc)
    if not "".join(shown).strip():
        return await _afallback(plan, npc, send, rng, reason="leak", text=text)
    return await _afinish_cut(plan, npc, raw, shown, send, rng, first_token_s, reason="leak")


async def _afallback(plan, npc: NpcDef, send: Send, rng: random.Random, *, reason: str, text: str | None = None,
                     said_before: tuple[str, ...] = ()) -> VoicedReply:
    """The ladder's lower rungs: the NPC's own lines for the moment, else an in-world deferral
    (`text`: what the game itself has the NPC say instead, such as the facts a player asked back,
    its name, what is sold here: known without the model, so said when the model is away too)."""
    logger.info("%s answers from the persona (%s)", npc.slug, reason)
    metrics.reply_fallback_observed(npc=plan.npc, reason=reason)
    answered = bool(text)
    text = text or fallback_text(plan, npc, rng, reason=reason, said_before=said_before)
    for piece in _pieces(text):
        await send({"type": "npc.token", "reply_to": plan.client_id, "npc": plan.npc, "text": piece})
    return VoicedReply(text=text, source="fallback", answered=answered)


# A reply that failed these checks, or a line claiming a shared past, is answered with a denial. (Not
# "echo": the small model says a plain question back, and "that's not how I remember it" answered
# "What's the gossip tonight?".)
DENIED = frozenset({"premise", "obeyed", "ooc", "identity", "role_label", "template"})


def fallback_text(plan, npc: NpcDef, rng: random.Random, *, reason: str = "", said_before: tuple[str, ...] = ()) -> str:
    """The ladder's lower rungs as words: the NPC's own line for the moment (a denial for a false
    claim, a refusal for an order, one of its rumours of the day when asked for gossip), else an
    in-world deferral. `said_before`: the NPC's replies so far, whose lines it does not say again
    while it has others."""
    fresh = lambda lines: [line for line in lines if line not in said_before] or list(lines)  # noqa: E731
    ordered = order_given(plan.line) or reason == "obeyed"
    if ordered and (npc.refusals or npc.denials):
        return rng.choice(fresh(npc.refusals or npc.denials))
    if npc.denials and (reason in DENIED or premise_claimed(plan.line)):
        return rng.choice(fresh(npc.denials))
    if told := rumour_told(plan, world=world_current(), npc=npc):  # the one about what was asked, as gameplay/answers.py picks it
        return gossip_said(plan, told)
    return persona_reply(npc, plan.line, tier=plan.tier, first_meeting=plan.first_meeting, rng=rng) or busy_line(npc, rng)


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]


NARRATION_TOKENS = 40  # one sentence
NARRATION_TEMPERATURE = 0.5  # 0.7 put the narrator out of form more often; 0.4 copied the examples' endings: docs/playtest.md, "Free text"


async def anarrate(plan) -> str | None:
    """A short narrated moment for free text, or None when the model cannot give one now, or gives
    one the narration checks hold back (gameplay.narration_checks)."""
    text, reason = await _anarration(plan)
    metrics.narration_observed(outcome="narrated" if text else "suggestions", reason=reason)
    return text


async def _anarration(plan) -> tuple[str | None, str]:
    if not await db_async(limits.llm_tokens_left)(game_id=plan.game_id):
        return None, "token_budget"
    cfg = settings.TANKARD_LLM
    messages = await db_async(build_narration_messages)(
        situation=plan.situation, player_line=plan.line, context_window=cfg["CONTEXT_WINDOW"], reply_tokens=NARRATION_TOKENS
    )
    try:
        finished = await acomplete(list(messages), priority=PRIORITY_PLAYER, max_tokens=NARRATION_TOKENS,
                                   conversation=f"{plan.game_id}:narrator", temperature=NARRATION_TEMPERATURE)
    except (LLMUnavailable, LLMStreamCut) as exc:
        logger.info("no narration (%s); answering without it", exc.kind)
        return None, "unavailable"
    await db_async(limits.llm_tokens_spend)(game_id=plan.game_id, tokens=(finished.prompt_tokens or 0) + finished.completion_tokens)
    text, _ = parse_actions(finished.text)  # the narrator proposes nothing: markers are dropped
    if leak_found(text, protected=protected_text(messages[0]["content"], shareable=shareable_values(plan.situation))):
        logger.warning("narration recited its prompt; answering without it")
        return None, "leak"
    kept = narration_kept(text, line=plan.line, present=plan.situation.present, world=check_world(world_current()),
                          plain=llm_is_local())  # the default small model's tails mean little: docs/playtest.md, "Free text"
    if kept is None:
        logger.info("narration held back by its checks: %r", text[:200])
        return None, "checks"
    return kept, ""
