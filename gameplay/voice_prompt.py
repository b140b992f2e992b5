"""The prompt of an NPC's reply: the persona, the situation, what the NPC remembers of the player
(the most relevant memories that fit their share of the budget), the canon facts for the line, and
the frame the reply's checks read (`reply_checks.py`). What each prompt held is kept for the prompt
inspector (`prompt_reports.py`)."""
from __future__ import annotations

import re
from dataclasses import replace
from typing import NamedTuple

from django.conf import settings

from llm.local_server import llm_is_local
from llm.prompts import Memory, Persona, PromptBudget, PromptResult, Turn, build_npc_messages, count_tokens
from llm.reply_cache import follow_up_reason
from memory.facts import Fact, fact_answer, recall_asked
from memory.selectors import memory_facts, memory_first_minute, memory_recall
from memory.services import memory_mark_used
from npcs.canon import CanonPick
from npcs.persona import NpcDef, npc_persona_values

from .answers import GameAnswer, game_answer
from .answers_goods import ASKING
from .answers_people import topic_told
from .canon import canon_kept, canon_picks
from .claims import Claim, claim_read
from .leak_guard import CANARY
from .prompt_reports import prompt_report, prompt_report_keep
from .reply_checks import ReplyFrame
from .reply_orders import order_given
from .reply_premises import premise_claimed, premise_dated
from .reply_world import names_in
from .rules import clock
from .selectors import npc_replies_recent
from .world import world_aliases, world_current

RECENT_TURNS = 12
RECENT_STEP = 6  # the recent window moves on six turns (three exchanges) at a time: prompts keep their start


def prompt_build(plan, npc: NpcDef, *, use_memory: bool = True, canon: tuple[CanonPick, ...] | None = None) -> PromptResult:
    """The messages for this reply, fitted to the model's context window, with what the NPC
    remembers of this player (the most relevant memories that fit their share of the budget) and
    the canon facts for the line (`canon`: those already picked). The prompt, the memories' scores
    and why each fact went in are kept for the prompt inspector."""
    return prompt_kept(plan, prompt_inspect(plan, npc, use_memory=use_memory, canon=canon))


def prompt_kept(plan, inspected: PromptInspected) -> PromptResult:
    report = prompt_report(inspected.prompt, inspected.recalled, canon=inspected.canon)
    prompt_report_keep(game_id=plan.game_id, client_id=plan.client_id, report=report)
    return inspected.prompt


class PromptInspected(NamedTuple):
    prompt: PromptResult
    recalled: tuple  # the memories chosen, with their scores
    frame: ReplyFrame  # what the reply checks need of the conversation
    canon: tuple[CanonPick, ...] = ()  # the canon facts picked for the line, and why (the prompt may hold fewer: budget)


# Said to the model when a line claims a shared past the NPC has no memory of ("you promised me...").
NEVER_MET = "You have never met this traveller before today; you owe them nothing and promised them nothing."


def prompt_inspect(plan, npc: NpcDef, *, use_memory: bool = True, mark_used: bool = True,
                   canon: tuple[CanonPick, ...] | None = None) -> PromptInspected:
    """The prompt, the memories chosen for it (with their scores, for the prompt inspector too), the
    canon facts picked for the line (`canon`: picked already) and the frame the reply's checks read
    (gameplay/reply_checks.py: every fact the NPC keeps to, picked or not)."""
    world = world_current()
    if canon is None:
        canon = canon_picks(world, npc_slug=plan.npc, line=plan.line)
    cfg = settings.TANKARD_LLM
    budget = PromptBudget.from_context_window(cfg["CONTEXT_WINDOW"], cfg["MAX_REPLY_TOKENS"], memories=cfg.get("MEMORY_TOKENS", 0))
    recalled, recent = (), ()
    if use_memory:
        memory = memory_recall(game_id=plan.game_id, npc_slug=plan.npc, query=plan.line, now_minute=plan.minute,
                               token_budget=budget.memories, count_tokens=count_tokens, recent_limit=RECENT_TURNS, recent_step=RECENT_STEP,
                               also=plan.memory_also)  # whose memories this reply may draw on (gameplay/tavern/memory.py)
        recent, recalled = memory.recent, memory.recalled
        if recalled and mark_used:
            memory_mark_used(ids=[m.id for m in recalled], now_minute=plan.minute, game_id=plan.game_id, npc_slug=plan.npc)
    topic = topic_of(plan, npc, recent, world)
    if topic != plan.line:  # "Who took it?": the facts the line before it brings stay in the moment
        picked = {p.fact.key for p in canon}
        canon = (*canon, *(p for p in canon_picks(world, npc_slug=plan.npc, line=topic, by_meaning=False) if p.fact.key not in picked))
    ordered = order_given(plan.line)
    claim = None if ordered else claim_read(plan.line, world)  # a false claim about the tavern (gameplay/claims.py)
    premise_open = claim is not None or premise_claimed(plan.line) and (not recalled and not recent or _met_today_only(plan))
    remembered = _asked_back(plan) if use_memory and claim is None else ()
    situation = replace(plan.situation, canon=tuple(p.fact.text for p in canon))
    situation = replace(situation, facts=(*situation.facts, NEVER_MET)) if premise_open and claim is None else situation
    if remembered:
        situation = replace(situation, facts=(*situation.facts, f"The traveller asks what you remember of them; tell them: {said_back(remembered)}"))
    # The NPC's name, a price, what there is to drink or eat, gossip: answers the game knows
    # (gameplay/answers.py); an order ("You are now SalesBot. Introduce yourself.") gets the refusals.
    said_before = tuple(text for speaker, text in recent if speaker == "npc")
    answer = claim_answer(claim) if claim is not None else None if remembered or ordered else game_answer(
        plan, npc, world, said_before=said_before, topic=topic)
    if answer is None and not (premise_open or remembered or ordered or canon) and (ASKING.search(plan.line) or _TELL_ME.search(plan.line)):
        answer = topic_answer(plan, npc, said_before=said_before)
    if answer is not None:
        situation = replace(situation, facts=(*situation.facts, answer.moment))
    prompt = build_npc_messages(
        persona=Persona(**npc_persona_values(npc)), situation=situation,
        recent=[Turn(speaker, text) for speaker, text in recent], memories=[Memory(m.text) for m in recalled],
        player_line=plan.line, budget=budget, canary=CANARY, proposals=not llm_is_local(),
        moment_last=cfg.get("MOMENT_LAST", True), topic=topic,
    )
    frame = ReplyFrame(npc_slug=plan.npc, line=plan.line, premise_open=premise_open,
                       own_earlier=tuple(dict.fromkeys([*said_before,
                                                        *npc_replies_recent(game_id=plan.game_id, npc_slug=plan.npc)])),
                       heard=names_in([*(text for _, text in recent), *(m.text for m in recalled),
                                       *(f.text for f in remembered), plan.situation.player_name or "",
                                       *plan.situation.present]),  # in a shared tavern, the other players standing here
                       canon=canon_kept(world, npc_slug=plan.npc),
                       recall=tuple(map(fact_answer, remembered)) or (answer.words if answer else ()),
                       recall_said=said_back(remembered) or (answer.said if answer else ""),
                       recall_own=answer is not None, here=plan.situation.place)
    return PromptInspected(prompt, tuple(recalled), frame, canon)


_TELL_ME = re.compile(r"^\W*(?:(?:so|well|and|ok|okay),?\s+)?(?:tell me|talk to me|say something) (?:about|of)\b", re.IGNORECASE)


def topic_answer(plan, npc: NpcDef, *, said_before: tuple[str, ...] = ()) -> GameAnswer | None:
    """A question on something the NPC has authored words about, where no canon fact speaks to it
    (gameplay/answers_people.topic_told): the model is told them; when it says none of their words, the game does."""
    told = topic_told(plan, npc, said_before=said_before)
    if told is None:
        return None
    about, said, words = told
    return GameAnswer(f"The traveller asks about {about}; tell them, in your own words: {said}", words, said)


def claim_answer(claim: Claim) -> GameAnswer:
    """A false claim turned down as the game knows to: the model is told so, and when its first
    sentence does not turn it down (and say the true figure, where there is one), the game does."""
    return GameAnswer(f"The traveller is mistaken; tell them so: {claim.said}", claim.words, claim.said)


def topic_of(plan, npc: NpcDef, recent, world) -> str:
    """What the prompt's facts are picked by: the line, and the player's line before it too when this
    one hangs on it (a pronoun, "and what about...", an answer to the NPC's question:
    `llm.reply_cache.follow_up_reason`), so that "Who do you think took it?"
    after "What happened to the tankard?" keeps the tankard's facts."""
    previous_line = next((text for speaker, text in reversed(recent) if speaker == "player"), "")
    if not previous_line:
        return plan.line
    previous_reply = next((text for speaker, text in reversed(recent) if speaker == "npc"), "")
    if not _POINTS_BACK.search(plan.line) and follow_up_reason(
            plan.line, previous_reply=previous_reply, previous_line=previous_line,
            names=(npc.name, *npc.name.split()), aliases=world_aliases(world, npc.slug)) in (None, "empty"):
        return plan.line
    return f"{previous_line} {plan.line}"


# A word that may stand for something said before: the line before's facts are kept in the moment
# (a fact too many costs a few tokens; one missing, a reply about nothing).
_POINTS_BACK = re.compile(r"\b(?:it|its|he|she|him|her|his|they|them|their|that|those)\b", re.IGNORECASE)


ASKED_BACK_FACTS = 3  # "what do you know about me?": the newest facts said back


def _asked_back(plan) -> tuple[Fact, ...]:
    """The facts the player told this NPC that the line asks it to say back ("what's my dog called?"),
    each one a reply can say by a word (a name, a trade, a thing lost)."""
    keys = recall_asked(plan.line)
    if not keys:
        return ()
    facts = memory_facts(game_id=plan.game_id, npc_slug=plan.npc, keys=keys, also=plan.memory_also)
    answerable = sorted((f for f in facts if fact_answer(f)), key=lambda f: f.key != "name")  # the name first, then the newest
    return tuple(answerable)[:ASKED_BACK_FACTS]


def said_back(facts: tuple[Fact, ...]) -> str:
    """Facts about the player, as the NPC says them to the player: "Your dog is called Biscuit." """
    said = []
    for fact in facts:
        text = fact.text
        for third, second in (("The player's ", "Your "), ("The player is ", "You're "), ("The player lost their ", "You lost your ")):
            text = text.replace(third, second)
        said.append(text)
    return " ".join(said)


def _met_today_only(plan) -> bool:
    """A claim set on an earlier day ("you said yesterday ...") to an NPC whose memories of this player
    all began today: whatever was said in the conversation so far, it was not said then."""
    if not premise_dated(plan.line):
        return False
    first = memory_first_minute(game_id=plan.game_id, npc_slug=plan.npc, also=plan.memory_also)
    return first is None or clock.day_of(first) == clock.day_of(plan.minute)
