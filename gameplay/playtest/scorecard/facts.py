"""The world as the scorecard needs it, read through the game's own definitions: what things cost
and who sells them, which words may carry which amounts, every amount and proper name the world's
text states, and the ways to name each NPC."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from .words import _AMOUNT, _WORD, _number

if TYPE_CHECKING:  # the module imports no Django at load: bench/run.py reads FIGURES without a project set up
    from gameplay.world import World

_GENERIC_ALIASES = frozenset({"light", "line", "coin", "sweet", "spirit", "spirits", "shot", "tot", "key", "my key",
                              "serve", "waiting", "wood", "chop", "beds", "tally", "slate", "stable", "roast", "casks",
                              "hauling", "bitter", "box", "cake", "turn", "from", "with"})


@dataclass(frozen=True)
class Facts:
    """The world as the scorecard needs it: things with their prices, people, names, amounts."""

    anchors: dict[str, frozenset[int]]  # a word a reply may name -> the amounts in gold it may carry
    item_terms: dict[str, str]  # an item's name or alias -> its slug
    prices: dict[str, int]
    sellers: dict[str, str | None]
    amounts: frozenset[int]  # every amount of gold the world states somewhere
    names: frozenset[str]  # proper nouns the world uses (lowercase)
    vocabulary: frozenset[str]  # every word of the world's text (lowercase)
    npcs: dict[str, tuple[str, ...]] = field(default_factory=dict)  # slug -> the ways to name them
    figures: frozenset[str] = frozenset()  # a figure as the world's text says it, with the two words after ("one coin in ten")


def _texts(world: World) -> Iterable[str]:
    for loc in world.locations.values():
        yield from (loc.name, loc.description, *(f.name + ". " + f.description for f in loc.features))
    for item in world.items.values():
        yield from (item.name, item.description, item.use_text)
    for job in world.jobs.values():
        yield from (job.description, job.work_text)
    for bounty in world.bounties.values():
        yield from (bounty.title, bounty.description, bounty.complete_text, *(o.text for o in bounty.objectives))
    yield from (r.text for r in world.rumours)
    yield from (fact.text for fact in getattr(world, "canon", ()))  # canon facts, where the world keeps them
    if world.mystery:
        m = world.mystery
        yield from (m.title, m.intro, m.solved_text, m.wrong_text, m.not_ready_text, *(c.text for c in m.clues))
    for npc in world.npcs.values():
        yield from (npc.name, npc.role, npc.appearance, npc.personality, npc.speech_style, *npc.knows, *npc.hides,
                    *npc.greetings, *npc.idle_lines, *npc.busy_lines, *npc.denials, *npc.refusals,
                    *(line for t in npc.topics for line in t.lines), *(a for pair in npc.voice_examples for a in pair))


def facts_from_world(world: World) -> Facts:
    anchors: dict[str, set[int]] = defaultdict(set)
    item_terms, prices, sellers = {}, {}, {}
    for item in world.items.values():
        prices[item.slug], sellers[item.slug] = item.price, item.seller
        for term in (item.name, *item.aliases):
            if term.lower() not in _GENERIC_ALIASES:
                item_terms[term.lower()] = item.slug
                if item.price:
                    anchors[term.lower()].add(item.price)
    if "room-key" in prices:
        for term in ("room", "rooms", "bed for the night"):
            anchors[term].add(prices["room-key"])
    for job in world.jobs.values():
        for term in (job.name, *job.aliases):
            if term.lower() not in _GENERIC_ALIASES:
                anchors[term.lower()].add(job.pay)
        for term in ("work", "job", "pay", "pays", "paid", "earn"):
            anchors[term].add(job.pay)
    for bounty in world.bounties.values():
        title_words = [w for w in re.findall(r"[a-z]+", bounty.title.lower()) if len(w) > 3 and w not in item_terms]
        for term in (bounty.title, *title_words, "reward", "bounty", "bounties", "pay", "pays", "paid"):
            if term.lower() not in _GENERIC_ALIASES:
                anchors[term.lower()].add(bounty.reward_gold)
    bets = (world.config.min_bet, world.config.max_bet)
    for term in ("bet", "bets", "stake", "stakes", "wager"):
        anchors[term].update(range(bets[0], bets[1] + 1))
    texts = list(_texts(world))
    vocabulary = frozenset(re.findall(r"(?<![A-Za-z])([a-z]+)", " ".join(texts)))
    amounts = {_number(m.group(1)) for text in texts for m in _AMOUNT.finditer(text)}
    figures = frozenset(_figure(text, m) for text in texts for m in _AMOUNT.finditer(text))
    amounts |= set(prices.values()) | {j.pay for j in world.jobs.values()} | {b.reward_gold for b in world.bounties.values()}
    amounts |= {world.config.start_gold, *bets} | ({world.mystery.reward_gold} if world.mystery else set())
    names = set()
    for text in texts:  # capitalised in mid-sentence, or never written in lower case: a name
        names.update(w.lower() for w in re.findall(r"(?<=[a-z,;'] )([A-Z][a-z]+)", text))
        names.update(w.lower() for w in re.findall(r"\b([A-Z][a-z]{2,})\b", text) if w.lower() not in vocabulary)
    npcs = {}
    for npc in world.npcs.values():
        parts = npc.name.split()
        npcs[npc.slug] = tuple(dict.fromkeys(p.lower() for p in (npc.name, *parts) if p.lower() != "captain"))
        names.update(p.lower() for p in parts)
    names.update("moonday ironday wyrmsday thornsday freyday starday sunsday spring summer autumn winter".split())
    return Facts(anchors={k: frozenset(v) for k, v in anchors.items()}, item_terms=item_terms, prices=prices,
                 sellers=sellers, amounts=frozenset(amounts), names=frozenset(names),
                 vocabulary=vocabulary, npcs=npcs, figures=figures)


def _figure(text: str, match: re.Match) -> str:
    """The figure `match` found in `text` (its value and unit, as "1 coin"), with the two words after
    it, in lower case: "a single coin in ten" is the world's "one coin in ten"."""
    unit = match.group(2).lower().rstrip("s") if match.group(2).lower() != "gp" else "gold"
    return " ".join([f"{_number(match.group(1))} {unit}", *_WORD.findall(text[match.end():].lower())[:2]])
