"""Pre-generating NPC replies in the background, so that common questions are answered from the
reply cache the first time a player asks them.

What to make comes from the cache's own statistics (llm.reply_cache.selectors): for each NPC, the
contexts players meet it in most (per part of the day, strangers first), and in each the questions
asked most, with the canonical tavern questions as the cold start. Before anyone has asked, the
contexts are those a new game opens in (noted by the game as a run starts: `pregen_starting`). Each reply is asked of the
model at background priority (it waits while any player's request is active, llm/gate.py) with
the same persona and situation a player's prompt would carry, and kept with source "pregen".
Replies that propose game actions, are empty, or recite the character sheet are not kept.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from django.conf import settings
from django.dispatch import Signal

from llm.actions import parse_actions
from llm.client import PRIORITY_BACKGROUND, LLMStreamCut, LLMUnavailable, complete_sync
from llm.prompts import INSTRUCTIONS, Persona, PromptBudget, build_npc_messages
from llm.reply_cache import Asked, index_warm, persona_digest, reply_cache_prune, reply_cache_store_pregen
from llm.reply_cache.selectors import PregenTarget, reply_pregen_targets

from .canon import CanonDef, canon_contradicted, canon_for_npc, canon_meaning, canon_persona_values, canon_pick
from .persona import NpcDef, name_said, npc_persona_values, own_name_asked
from .selectors import canon_facts_all, npc_definitions_all

logger = logging.getLogger(__name__)

#: Sent as a pre-generation run starts: the game notes the contexts every new game opens in
#: (gameplay/signals.py), so that a new server, where nobody has asked anything yet, pre-generates too.
pregen_starting = Signal()
RECITED_RUN_WORDS = 8  # this many words in a row of the character sheet make a reply unusable
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class PregenReport:
    made: int = 0
    skipped: int = 0  # the model answered, but the reply may not be kept
    failed: int = 0  # the model could not answer (the run stops for that NPC)
    pruned: int = 0


def npc_replies_pregenerate(*, max_replies: int | None = None, npc: str | None = None) -> PregenReport:
    """Make the missing replies players are most likely to need, at most `max_replies` model calls.
    Idempotent: replies already cached are not made again."""
    cfg = settings.TANKARD_REPLY_CACHE
    budget = cfg["PREGEN_MAX_REPLIES"] if max_replies is None else max_replies
    pruned = reply_cache_prune(unserved_days=cfg["PRUNE_UNSERVED_DAYS"], serves_days=cfg["PRUNE_SERVES_DAYS"])
    pregen_starting.send(sender=npc_replies_pregenerate)
    index_warm()  # the matcher's exemplars, embedded here rather than on a player's first line
    made = skipped = failed = 0
    canon = canon_facts_all()
    for definition in npc_definitions_all():
        if npc and definition.slug != npc:
            continue
        targets = reply_pregen_targets(npc_slug=definition.slug, npc_id=definition.id, persona_version=definition.persona_version,
                                       persona_digest=persona_digest(canon_persona_values(npc_persona_values(definition), canon, definition.slug)),
                                       limit=max(0, budget - made - skipped), asked=Asked(questions=definition.asked))
        for target in targets:
            if made + skipped + failed >= budget:
                break
            outcome = _pregenerate_one(definition, target, canon)
            made, skipped, failed = made + (outcome == "made"), skipped + (outcome == "skipped"), failed + (outcome == "failed")
            if outcome == "failed":
                break  # the model is away: try again next run
    logger.info("pre-generated %d replies (%d skipped, %d failed, %d pruned)", made, skipped, failed, pruned)
    return PregenReport(made=made, skipped=skipped, failed=failed, pruned=pruned)


def _pregenerate_one(npc: NpcDef, target: PregenTarget, canon: tuple[CanonDef, ...] = ()) -> str:
    try:
        finished = complete_sync(_messages(npc, target, canon), priority=PRIORITY_BACKGROUND, conversation=f"pregen:{npc.slug}")
    except (LLMUnavailable, LLMStreamCut) as exc:
        logger.info("pre-generation for %s stopped: %s", npc.slug, exc.kind)
        return "failed"
    text, actions = parse_actions(finished.text)
    if actions or not text.strip() or _recites(text, npc) or _contradicts_canon(text, npc, canon):
        return "skipped"
    if own_name_asked(target.line) and not name_said(text, npc):  # the reply path asks the same of a kept reply
        return "skipped"
    reply_cache_store_pregen(npc_id=npc.id, npc_slug=npc.slug, persona_version=npc.persona_version,
                             persona_digest=persona_digest(canon_persona_values(npc_persona_values(npc), canon, npc.slug)),
                             target=target, text=text)
    return "made"


def _messages(npc: NpcDef, target: PregenTarget, canon: tuple[CanonDef, ...] = ()) -> list[dict[str, str]]:
    """The prompt a player asking this question in this context would send (no memories, no
    conversation so far: those replies are never cached), with the canon facts its line brings."""
    cfg = settings.TANKARD_LLM
    budget = PromptBudget.from_context_window(cfg["CONTEXT_WINDOW"], cfg["MAX_REPLY_TOKENS"])
    picked = canon_pick(canon, npc_slug=npc.slug, line=target.line, meaning=canon_meaning)
    situation = replace(target.situation, canon=tuple(p.fact.text for p in picked))
    prompt = build_npc_messages(persona=Persona(**npc_persona_values(npc)), situation=situation, recent=[],
                                memories=[], player_line=target.line, budget=budget, moment_last=cfg.get("MOMENT_LAST", True))
    return list(prompt.messages)


def _contradicts_canon(text: str, npc: NpcDef, canon: tuple[CanonDef, ...]) -> bool:
    """Whether a reply contradicts a canon fact the NPC keeps to (the reply path's check, npcs/canon.py)."""
    kept = tuple(f for f in canon_for_npc(canon, npc.slug) if f.checkable)
    return bool(kept) and canon_contradicted(text, kept, speaker_words=frozenset(w.lower() for w in npc.name.split())) is not None


def _recites(text: str, npc: NpcDef) -> bool:
    """Whether the reply repeats a long run of the instructions or the character sheet."""
    values = npc_persona_values(npc)
    sheet = _WORD.findall("\n".join((INSTRUCTIONS, values["personality"], values["speech_style"], *values["hides"])).lower())
    runs = {tuple(sheet[i:i + RECITED_RUN_WORDS]) for i in range(len(sheet) - RECITED_RUN_WORDS + 1)}
    words = _WORD.findall(text.lower())
    return any(tuple(words[i:i + RECITED_RUN_WORDS]) in runs for i in range(len(words) - RECITED_RUN_WORDS + 1))
