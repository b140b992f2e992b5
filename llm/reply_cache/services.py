"""Writes and the reply path's calls of the reply cache: begin matching a player's line early, open
a ticket for it (match, look up, join an identical ask in flight), finish it (record what the
player received, keep a cacheable model reply), flag, purge, prune, and store pre-generated
replies."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from llm import metrics
from llm.models import ReplyCacheEntry, ReplyDemand, ReplyFlag, ReplyServe

from . import levels
from .flight import flight_land, flight_lead, flight_running
from .keys import ReplyCacheRequest, context_of, entry_key, entry_key_parts, situation_to_json
from .levels import CachedReply
from .followup import follow_up_reason
from .asked import asked_match, asked_match_known, asked_owner, asked_owner_ready, kin_match
from .matcher import QuestionMatch, early_pool, question_match, question_match_begin, question_match_quick, signature_match
from .questions import QUESTIONS
from .selectors import kin_lines
from .slots import slots_fill, slots_make

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CacheTicket:
    """One reply's passage through the cache: what it asks, and the hit if there was one."""

    request: ReplyCacheRequest | None = None
    match: QuestionMatch | None = None
    context: str = ""
    key: str = ""
    hit: CachedReply | None = None
    flight: asyncio.Event | None = None
    keep: bool = False  # a reply made for this line may be kept for others (its prompt held no conversation)

    @property
    def cacheable(self) -> bool:
        return bool(self.key)

    @property
    def prompt_line(self) -> str | None:
        """The words to put to the model: the canonical question when the line asks one and the
        reply will be kept; a later line's own words otherwise."""
        return self.match.prompt_line if self.match is not None and self.keep else None

    @property
    def source(self) -> str:
        """The `source` of a hit on the protocol: "pregen" or "cache"."""
        return "pregen" if self.hit is not None and self.hit.source == "pregen" else "cache"

    def reply_text(self) -> str:
        """The hit's words for this player: slots filled with their name and time."""
        assert self.hit is not None and self.request is not None
        return slots_fill(self.hit.text, values=self.request.slot_values())


def _enabled() -> bool:
    return bool(settings.TANKARD_REPLY_CACHE["ENABLED"])


def reply_match_begin(request: ReplyCacheRequest) -> None:
    """Begin deciding which question the request's line asks, on the matcher's own threads, before
    the reply's prompt is built: a new phrasing's embedding then runs while the rest of the turn
    does, and `areply_cache_open` finds the decision made or under way. Returns at once; nothing
    when the cache is off, or for a private line (a whisper's words are never kept as a decision)."""
    if _enabled() and not request.private:
        question_match_begin(request.line, names=request.names, others=request.others)
        if request.asked.questions:
            early_pool().submit(_asked_early, request)


async def areply_cache_open(request: ReplyCacheRequest, *, cacheable: bool, conversation: tuple[str, str] | None = None,
                            on_wait: Callable[[], Awaitable[None]] | None = None) -> CacheTicket:
    """Look the line up; on a miss the ticket leads its key's single flight (close it with
    `reply_cache_close`). A line asked while an identical one is with the model waits for it,
    calling `on_wait` first (to show the player a thinking line).

    `cacheable`: the reply's prompt holds nothing of this player's (no memories, no turns before):
    its reply may be served from the cache and kept for others. Otherwise `conversation` is the last
    exchange, (the player's line, the NPC's reply), and the line may still be answered from the
    cache when it stands alone (`followup.py`); a reply made for it is never kept. A private line
    (a whisper) gets a ticket that keeps nothing: its words and its reply never enter the cache,
    its matching or its statistics."""
    if not _enabled() or request.private or (not cacheable and conversation is None):
        return CacheTicket(request=request)
    try:
        return await _aopen(request, on_wait, keep=cacheable, conversation=conversation)
    except asyncio.CancelledError:
        raise
    except Exception:  # the cache must never cost a player their reply
        logger.exception("reply cache lookup failed for %s; asking the model", request.npc)
        return CacheTicket(request=request)


async def _aopen(request: ReplyCacheRequest, on_wait: Callable[[], Awaitable[None]] | None, *, keep: bool,
                 conversation: tuple[str, str] | None) -> CacheTicket:
    match = question_match_quick(request.line, names=request.names, others=request.others)
    if match is None:  # an embedding: a model forward pass, off the event loop
        match = await asyncio.to_thread(question_match, request.line, names=request.names, others=request.others)
    if match.question is None:  # an NPC's own question, else the line's concepts
        match = await _asked(request) or signature_match(match, request.line, names=request.names, aliases=request.aliases)
    if match.question is not None and request.asked.questions:  # a canonical question this NPC's own may be
        match = await _owned(request, match)
    if not keep and _follows_up(request, match, conversation):
        return CacheTicket(request=request)
    context = context_of(request.situation, part=request.part, day=request.day)
    key = entry_key(npc_id=request.npc_id, persona_version=request.persona_version, persona_digest=request.persona_digest,
                    context=context, question=match.key)
    waited = False
    while True:
        hit, level = await database_sync_to_async(levels.level_get, thread_sensitive=False)(key, npc_id=request.npc_id)
        if hit is not None:
            metrics.cache_lookup_observed(level=level)
            return CacheTicket(request=request, match=match, context=context, key=key, hit=hit, keep=keep)
        running = flight_running(key)
        if running is None or waited:
            break
        if on_wait is not None:
            await on_wait()
        await running.wait()
        waited = True
    kin = await _akin(request, match, key, context, keep=keep) if match.key.startswith("s:") else None
    if kin is not None:
        return kin
    metrics.cache_lookup_observed(level=None)
    if not keep:  # its reply will not be kept: nobody is to wait for it
        return CacheTicket(request=request, match=match, context=context, key=key)
    return CacheTicket(request=request, match=match, context=context, key=key, flight=flight_lead(key), keep=True)


async def _akin(request: ReplyCacheRequest, match: QuestionMatch, key: str, context: str, *, keep: bool) -> CacheTicket | None:
    """A hit for a line no question of the NPC's reads, when it asks what an earlier line in the
    same context asked whose reply is held under its own signature (`asked.kin_match`), else None."""
    kin = await database_sync_to_async(kin_lines, thread_sensitive=False)(key=key, npc_slug=request.npc)
    if not kin:
        return None
    found = await asyncio.to_thread(kin_match, request.line, names=request.names, aliases=request.aliases,
                                    asked=request.asked, kin=kin)
    if found is None:
        return None
    kin_key = entry_key(npc_id=request.npc_id, persona_version=request.persona_version, persona_digest=request.persona_digest,
                        context=context, question=found.key)
    hit, level = await database_sync_to_async(levels.level_get, thread_sensitive=False)(kin_key, npc_id=request.npc_id)
    if hit is None:  # evicted meanwhile
        return None
    metrics.cache_lookup_observed(level=level)
    same = QuestionMatch(key=found.key, question=None, prompt_line=found.text, score=found.score, margin=found.margin,
                         reason=found.reason)
    return CacheTicket(request=request, match=same, context=context, key=kin_key, hit=hit, keep=keep)


def _asked_early(request: ReplyCacheRequest) -> None:
    """On the matcher's threads: once the canonical decision is made (taking the one begun), the NPC
    question the line asks, when it is no canonical question."""
    if question_match(request.line, names=request.names, others=request.others).question is None:
        asked_match(request.line, names=request.names, aliases=request.aliases, asked=request.asked)


async def _asked(request: ReplyCacheRequest) -> QuestionMatch | None:
    """The NPC's own question the line asks (`asked.py`), or None."""
    known, found = asked_match_known(request.line, names=request.names, aliases=request.aliases, asked=request.asked)
    if not known:  # an embedding: off the event loop
        found = await asyncio.to_thread(asked_match, request.line, names=request.names, aliases=request.aliases,
                                        asked=request.asked)
    if found is None:
        return None
    return QuestionMatch(key=found.key, question=found.question, prompt_line=found.text, score=found.score,
                         margin=found.margin, reason=found.reason)


async def _owned(request: ReplyCacheRequest, match: QuestionMatch) -> QuestionMatch:
    """`match`, or the NPC's own question its canonical question is for this NPC (`asked.asked_owner`)."""
    if asked_owner_ready(asked=request.asked):
        found = asked_owner(match.question, asked=request.asked)
    else:  # the NPC's questions not read yet: embeddings, off the event loop
        found = await asyncio.to_thread(asked_owner, match.question, asked=request.asked)
    if found is None:
        return match
    return QuestionMatch(key=found.key, question=None, prompt_line=found.text, score=match.score, margin=match.margin,
                         reason=found.reason)


def _follows_up(request: ReplyCacheRequest, match: QuestionMatch, conversation: tuple[str, str] | None) -> bool:
    """Whether a later line hangs on the conversation (then the cache must not answer it)."""
    previous_line, previous_reply = conversation or ("", "")
    reason = follow_up_reason(request.line, previous_reply=previous_reply, previous_line=previous_line,
                              names=request.names, aliases=request.aliases, canonical=match.question is not None or match.key.startswith("a:"))
    if reason is not None:
        logger.debug("reply cache: %r follows the conversation (%s)", request.line, reason)
    return reason is not None


def reply_cache_close(ticket: CacheTicket) -> None:
    """Release the ticket's single flight: asks waiting on it look the cache up again."""
    if ticket.flight is not None:
        flight_land(ticket.key, ticket.flight)


def reply_cache_keep(ticket: CacheTicket, *, text: str, source: str, storable: bool, answered: bool = False) -> Callable[[], None]:
    """Keep a model reply that may serve others, now (identical asks waiting for it look the cache
    up again next); return what records the reply the player received (the statistics, the entry
    that served it, for a flag), for the caller to run when the player has it.

    `storable` is False for replies that proposed game actions. `answered`: the reply is the game's
    own answer to what the line asked (the NPC's name, what is sold here, a price), said in place of
    a model reply that did not say it: kept as a model reply is, so the next player who asks it is
    answered at once instead of the model being asked again and failing again."""
    entry_id: int | None = None
    kept = source == "llm" or answered
    if ticket.request is not None and ticket.hit is None and ticket.keep and ticket.cacheable and kept and storable and text.strip():
        try:
            stored = _store(ticket, text, source="llm")
            levels.level_put(ticket.key, stored, npc_id=ticket.request.npc_id)
            entry_id = stored.entry_id
        except Exception:  # storage must never cost a player their reply
            logger.exception("reply cache could not keep a reply of %s", ticket.request.npc)
    return partial(reply_cache_record, ticket, source=source, stored_id=entry_id)


def reply_cache_record(ticket: CacheTicket, *, source: str, stored_id: int | None = None) -> None:
    """Record the reply the player received: the serve (with the entry that served or holds it:
    what a flag evicts), the entry's use and the demand for the question."""
    if ticket.request is None:
        return
    try:
        _record(ticket, source, stored_id)
    except Exception:  # statistics must never cost a player their reply
        logger.exception("reply cache could not record a reply of %s", ticket.request.npc)


def _record(ticket: CacheTicket, source: str, stored_id: int | None) -> None:
    request = ticket.request
    with transaction.atomic():
        entry_id = _count_served(ticket.hit.entry_id) if ticket.hit is not None else stored_id
        ReplyServe.objects.create(game_id=request.game_id, client_id=request.client_id or "", npc_slug=request.npc,
                                  npc_name=request.npc_name, source=source, entry_id=entry_id)
        if ticket.keep and ticket.cacheable:  # what players ask in a context, for pre-generation: first lines only
            _count_demand(ticket)


def _count_served(entry_id: int) -> int | None:
    updated = ReplyCacheEntry.objects.filter(pk=entry_id).update(served=F("served") + 1, last_served_at=timezone.now())
    return entry_id if updated else None  # pruned or evicted meanwhile


def _store(ticket: CacheTicket, text: str, *, source: str) -> CachedReply:
    request = ticket.request
    slotted = slots_make(text, values=request.slot_values())
    entry, _ = ReplyCacheEntry.objects.update_or_create(
        **entry_key_parts(ticket.key),
        defaults={"npc_slug": request.npc, "text": slotted, "source": source, "mood": request.situation.mood,
                  "tier": request.situation.relationship_tier, "part": request.part},
    )
    return CachedReply(entry_id=entry.id, text=slotted, source=source, question=ticket.match.key)


def _count_demand(ticket: CacheTicket) -> None:
    request, match = ticket.request, ticket.match
    where = {"npc_slug": request.npc, "question": match.key, "context": ticket.context}
    if ReplyDemand.objects.filter(**where).update(asks=F("asks") + 1, last_asked_at=timezone.now()):
        return
    try:
        with transaction.atomic():
            ReplyDemand.objects.create(
                **where, line=match.prompt_line[:500], situation=situation_to_json(request.situation),
                time_words=dict(request.time_words), part=request.part, mood=request.situation.mood,
                tier=request.situation.relationship_tier, asks=1,
            )
    except IntegrityError:  # another process counted the first ask
        ReplyDemand.objects.filter(**where).update(asks=F("asks") + 1)


def reply_demand_seed(*, request: ReplyCacheRequest) -> bool:
    """Note a context players are sure to meet the NPC in (a new game's opening), before anyone has
    asked anything there, so that pre-generation makes its canonical replies on a new server too.
    Counts no ask; True when the context was new."""
    context = context_of(request.situation, part=request.part, day=request.day)
    if ReplyDemand.objects.filter(npc_slug=request.npc, context=context).exists():
        return False
    question = QUESTIONS[0]
    _, created = ReplyDemand.objects.get_or_create(
        npc_slug=request.npc, question=f"q:{question.key}", context=context,
        defaults={"line": question.text, "situation": situation_to_json(request.situation), "time_words": dict(request.time_words),
                  "part": request.part, "mood": request.situation.mood, "tier": request.situation.relationship_tier, "asks": 0},
    )
    return created


# --- flags, purges ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class FlagOutcome:
    npc: str
    npc_name: str
    evicted: bool  # a cached entry served that reply, and it is gone from every level
    counted: bool  # False when this reply was flagged before


def reply_cache_flag(*, game_id: str, target: str) -> FlagOutcome:
    """A player says the reply to their say `target` made no sense: evict the entry that served
    it (all levels) and count the flag, once per reply."""
    serve = ReplyServe.objects.filter(game_id=game_id, client_id=target).select_related("entry").order_by("-id").first()
    entry = serve.entry if serve is not None else None
    with transaction.atomic():
        flag, created = ReplyFlag.objects.get_or_create(game_id=game_id, target=target, defaults={
            "npc_slug": serve.npc_slug if serve else "", "source": serve.source if serve else "",
            "question": entry.question if entry else "", "text": entry.text if entry else "",
        })
        evicted = False
        if created and entry is not None:
            _evict(entry)
            flag.evicted = evicted = True
            flag.save(update_fields=["evicted"])
    if created:
        metrics.reply_flag_observed(npc=serve.npc_slug if serve else "unknown")
    return FlagOutcome(npc=serve.npc_slug if serve else "", npc_name=serve.npc_name if serve else "",
                       evicted=evicted, counted=created)


def _evict(entry: ReplyCacheEntry) -> None:
    key = entry_key(npc_id=entry.npc_id, persona_version=entry.persona_version, persona_digest=entry.persona_digest,
                    context=entry.context, question=entry.question)
    ReplyDemand.objects.filter(npc_slug=entry.npc_slug, question=entry.question, context=entry.context).update(flags=F("flags") + 1)
    entry.delete()
    transaction.on_commit(lambda: levels.level_evict(key, npc_id=entry.npc_id))


def reply_cache_purge(*, npc_id: int) -> int:
    """Forget every cached reply of one NPC (its persona or facts were edited); returns how many."""
    deleted, _ = ReplyCacheEntry.objects.filter(npc_id=npc_id).delete()
    levels.generation_bump(npc_id)
    return deleted


def reply_cache_prune(*, unserved_days: int, serves_days: int) -> int:
    """Drop entries never reused in `unserved_days`, lines asked once that long ago, and serve
    records older than `serves_days`; returns how many entries went."""
    now = timezone.now()
    stale = ReplyCacheEntry.objects.filter(served=0, created_at__lt=now - timedelta(days=unserved_days))
    npc_ids = set(stale.values_list("npc_id", flat=True).distinct())
    deleted, _ = stale.delete()
    ReplyDemand.objects.filter(asks__lte=1, last_asked_at__lt=now - timedelta(days=unserved_days)).delete()
    ReplyServe.objects.filter(created_at__lt=now - timedelta(days=serves_days)).delete()
    for npc_id in npc_ids:
        levels.generation_bump(npc_id)
    return deleted


def reply_cache_store_pregen(*, npc_id: int, npc_slug: str, persona_version: int, persona_digest: str, target,
                             text: str) -> int:
    """Keep a reply made in the background for a likely question (`target`: a PregenTarget)."""
    values = dict(target.time_words)
    if target.situation.player_name:
        values["player"] = target.situation.player_name
    slotted = slots_make(text, values=values)
    key = entry_key(npc_id=npc_id, persona_version=persona_version, persona_digest=persona_digest,
                    context=target.context, question=target.question)
    entry, _ = ReplyCacheEntry.objects.update_or_create(
        **entry_key_parts(key),
        defaults={"npc_slug": npc_slug, "text": slotted, "source": "pregen", "mood": target.mood, "tier": target.tier,
                  "part": target.part},
    )
    levels.level_put(key, CachedReply(entry_id=entry.id, text=slotted, source="pregen", question=target.question), npc_id=npc_id)
    return entry.id


def reply_cache_evict_where(*, npc_ids: Iterable[int] | None, wrong: Callable[[int, str], bool], limit: int = 50_000) -> int:
    """Evict, from every level and every process, the cached replies of these NPCs (None: all) that
    `wrong(npc_id, text)` says may no longer be served (a new fact contradicts them); returns how many."""
    entries = ReplyCacheEntry.objects.all() if npc_ids is None else ReplyCacheEntry.objects.filter(npc_id__in=list(npc_ids))
    doomed = [(pk, npc_id) for pk, npc_id, text in entries.values_list("pk", "npc_id", "text")[:limit] if wrong(npc_id, text)]
    if not doomed:
        return 0
    ReplyCacheEntry.objects.filter(pk__in=[pk for pk, _ in doomed]).delete()
    for npc_id in {npc_id for _, npc_id in doomed}:
        levels.generation_bump(npc_id)  # the fast levels are keyed by generation: every process stops serving them
    return len(doomed)
