"""The reply cache as a voice uses it: the plain values a line's reply is keyed on, the early start
of its match, whether a prompt's reply may be served from or kept in the cache, and whether a kept
reply still keeps to the canon. The cache itself is `llm.reply_cache`."""
from __future__ import annotations

import logging

from llm.prompts import PromptResult
from llm.reply_cache import CacheTicket, ReplyCacheRequest, persona_digest, reply_demand_seed, reply_match_begin
from npcs.canon import canon_contradicted, canon_persona_values
from npcs.persona import NpcDef, npc_persona_values

from . import metrics, services
from .reply_checks import ReplyFrame, recall_said_in, turns_down
from .rules import clock
from .world import world_aliases, world_asked, world_current

logger = logging.getLogger(__name__)


def reply_openings_seed() -> int:
    """Note, for pre-generation, the context each NPC present when a new game opens is first spoken
    to in (llm.reply_cache.reply_demand_seed); how many were new."""
    world = world_current()
    return sum(reply_demand_seed(request=reply_cache_request(plan, world.npcs[plan.npc], world))
               for plan in services.opening_say_plans(world=world))


def reply_cacheable(prompt: PromptResult, *, memories_used: bool = False) -> bool:
    """Whether a reply may come from, and go to, the reply cache: not when it draws on the player's
    own memories or on the conversation so far (pass `memories_used=True` where memories were
    retrieved; a prompt holding memories or recent turns counts as using them anyway)."""
    return not memories_used and not prompt.tokens.get("memories") and not prompt.tokens.get("recent")


def last_exchange(prompt: PromptResult) -> tuple[str, str]:
    """(the player's line, the NPC's reply) of the last exchange in the prompt, "" where there is none:
    what a later line may point back at (`llm.reply_cache.followup`)."""
    messages = [m for m in prompt.messages if m["role"] != "system"]  # the moment may come between
    reply = messages[-2]["content"] if len(messages) >= 2 and messages[-2]["role"] == "assistant" else ""
    line = messages[-3]["content"] if reply and len(messages) >= 3 and messages[-3]["role"] == "user" else ""
    return line, reply


def reply_match_start(request: ReplyCacheRequest) -> None:
    """Begin deciding which question the line asks (`llm.reply_cache.reply_match_begin`), so that a
    new phrasing's embedding runs while the prompt is built, not after."""
    try:
        reply_match_begin(request)
    except Exception:  # only a head start: the reply cache decides in its own time
        logger.warning("reply cache: the early match of a line could not begin", exc_info=True)


def reply_cache_request(plan, npc: NpcDef, world) -> ReplyCacheRequest:
    """The plain values the reply cache keys on: the part of the day, and the time words as slots."""
    now = clock.time_frame(plan.minute)
    own = {w.lower() for w in npc.name.split()}
    others = {w.lower() for other in world.npcs.values() if other.slug != npc.slug for w in other.name.split()} - own
    time_words = (("bell", now["bell"]), ("bell_short", now["bell"].split(" of ")[0]), ("day_name", now["day_name"]),
                  ("season", now["season"]))
    return ReplyCacheRequest(
        npc_id=npc.id, npc=plan.npc, npc_name=npc.name, persona_version=npc.persona_version,
        persona_digest=persona_digest(canon_persona_values(npc_persona_values(npc), world.canon, npc.slug)), line=plan.line,
        situation=plan.situation, part=now["part"], day=now["day"], time_words=time_words, others=tuple(sorted(others)),
        aliases=world_aliases(world, npc.slug), asked=world_asked(world, npc.slug), game_id=plan.game_id, client_id=plan.client_id, private=plan.private,
    )


def cached_contradicts(plan, ticket: CacheTicket, frame: ReplyFrame | None) -> bool:
    """Whether a cached reply contradicts a canon fact the NPC keeps to (one saved since it was
    cached, in another process), or does not say what the line asks (the NPC's name: one kept before
    that was checked): then the model is asked instead, and it is not served again."""
    if frame is not None and frame.premise_open and not turns_down(ticket.reply_text()):
        logger.info("a cached reply of %s does not turn the line's false claim down; asking the model", plan.npc)
        return True
    if frame is not None and not recall_said_in(ticket.reply_text(), frame):
        logger.info("a cached reply of %s does not say what the line asks (its name); asking the model", plan.npc)
        return True
    if frame is None or not frame.canon:
        return False
    speaker = frozenset(w.lower() for w in plan.npc_name.split())
    if canon_contradicted(ticket.reply_text(), frame.canon, speaker_words=speaker) is None:
        return False
    logger.info("a cached reply of %s contradicts canon; asking the model", plan.npc)
    metrics.canon_veto_observed(npc=plan.npc)
    return True
