"""What the reply checks know of the world (gameplay/reply_checks.py): plain values read off
gameplay.world.World once per world version (its stamp): prices, names, places, amounts, shares,
the words of the world's texts."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from npcs.persona import role_nouns

from .reply_places import places_of
from .reply_prices import ItemPrice, amounts_in, rates_in
from .rules.situation import present_label

WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
CAPITAL = re.compile(r"(?<![\w'-])([A-Z][a-z'-]+)")
GOODS = frozenset(  # goods words of any world: those the tavern lacks are "goods" it does not sell
    """beer mead whisky whiskey rum gin vodka brandy bourbon scotch lager stout porter sake champagne cocktail coffee
    mocha espresso latte cocoa chocolate milk juice lemonade soda wine ale cider tea water stew soup bread loaf pie cake
    cheese pickle steak beef pork chicken fish salmon trout eel eels sausage sausages ham bacon eggs egg porridge
    potatoes potato fries chips pizza burger sandwich salad pasta rice noodles cookies biscuits pastry pastries tart
    apples apple pear pears grapes berries torch torches lamp lamps oil matches tinderbox flint sword swords dagger daggers
    axe bow arrows shield armour armor helmet map maps blanket blankets pillow soap boots cloak""".split()
)


@dataclass(frozen=True)
class CheckWorld:
    """What the checks know of the world: plain values, built once per world version."""

    items: tuple[ItemPrice, ...]
    names: frozenset[str]  # every capitalised word the world's texts use, lower-cased
    npc_names: dict[str, str]  # a word of an NPC's name (lower-cased) -> slug
    npc_roles: dict[str, str]  # the last word of an NPC's role ("bard", "cook", "barkeep") -> slug
    amounts: frozenset[int]  # every gold figure the world states (prices, pay, rewards, bets, figures in texts)
    goods: frozenset[str]  # goods words the tavern has (item aliases' words)
    rates: frozenset[tuple[int, int]] = frozenset()  # shares the world's texts state: "one coin in ten" is (1, 10)
    places: dict[str, str] = field(default_factory=dict)  # a place's name or alias (lower-case, no "the") -> its name
    npc_role_words: dict[str, tuple[str, ...]] = field(default_factory=dict)  # slug -> the words of its role, lower-case
    labels: frozenset[str] = frozenset()  # how the moment names each NPC present ("wren abney the serving maid"), lower-case
    bets: frozenset[int] = frozenset()  # the least and the most a game of chance takes
    words: frozenset[str] = frozenset()  # every word of the world's texts, lower-case ("cider", "barkeep")


def names_in(texts: Iterable[str]) -> frozenset[str]:
    """The capitalised words of some texts, lower-cased: names a reply may use because it heard them."""
    return frozenset(m.group(1).lower() for text in texts for m in CAPITAL.finditer(text))


# The room key's price is a night's lodging: a figure said of "a room" is that price ("A room upstairs
# costs 5 gold a night." is put right), but not of "the Common Room".
_LODGING = ("a room", "the room", "your room", "room upstairs", "rooms upstairs", "a bed", "the beds", "a bed for the night")


def check_world_from(world) -> CheckWorld:
    """From gameplay.world.World (call through `check_world`, which caches it per world stamp)."""
    items = tuple(
        ItemPrice(tuple(sorted({a.lower() for a in (item.name, *item.aliases, *(_LODGING if item.kind == "key" else ())) if a},
                               key=len, reverse=True)), item.price)
        for item in world.items.values() if item.price > 0
    )
    texts = list(_world_texts(world))
    names = {m.group(1).lower() for text in texts for m in CAPITAL.finditer(text)}
    npc_names = {word.lower(): npc.slug for npc in world.npcs.values() for word in WORD.findall(npc.name)}
    npc_roles = {nouns[0]: npc.slug for npc in world.npcs.values() if (nouns := role_nouns(npc.role))}
    amounts = {item.price for item in world.items.values()} | {job.pay for job in world.jobs.values()}
    amounts |= {b.reward_gold for b in world.bounties.values()} | {world.config.min_bet, world.config.max_bet}
    amounts |= {amount for text in texts for amount, _ in amounts_in(text)}
    goods = {word for item in items for alias in item.aliases for word in alias.split() if word in GOODS}
    rates = {rate for text in texts for rate, _ in rates_in(text)}
    places = places_of(world)
    return CheckWorld(items=items, names=frozenset(names | set(npc_names)), npc_names=npc_names, npc_roles=npc_roles,
                      amounts=frozenset(amounts - {0}), goods=frozenset(goods), rates=frozenset(rates), places=places,
                      npc_role_words={npc.slug: tuple(WORD.findall(npc.role.lower())) for npc in world.npcs.values()},
                      labels=frozenset(present_label(npc).lower() for npc in world.npcs.values()),
                      bets=frozenset({world.config.min_bet, world.config.max_bet}),
                      words=frozenset(w.lower() for text in texts for w in WORD.findall(text)))


_by_stamp: dict[str, CheckWorld] = {}


def check_world(world) -> CheckWorld:
    found = _by_stamp.get(world.stamp)
    if found is None:
        _by_stamp.clear()  # one world at a time: an editor's change replaces it
        found = _by_stamp[world.stamp] = check_world_from(world)
    return found


def _world_texts(world) -> Iterable[str]:
    for loc in world.locations.values():
        yield loc.name
        yield loc.description
    for item in world.items.values():
        yield from (item.name, item.description, item.use_text, *item.aliases)
    for job in world.jobs.values():
        yield from (job.name, job.description, job.work_text)
    for bounty in world.bounties.values():
        yield from (bounty.title, bounty.description, bounty.complete_text, *(o.text for o in bounty.objectives))
    for rumour in world.rumours:
        yield rumour.text
    if world.mystery is not None:
        yield from (world.mystery.title, world.mystery.intro, *(clue.text for clue in world.mystery.clues))
    for npc in world.npcs.values():
        yield from (npc.name, npc.role, npc.appearance, npc.personality, npc.speech_style, *npc.knows, *npc.hides,
                    *npc.greetings, *npc.idle_lines, *(line for topic in npc.topics for line in topic.lines),
                    *(text for pair in npc.voice_examples for text in pair), *npc.denials,
                    *npc.refusals)
    for fact in getattr(world, "canon", ()):
        yield from (fact.text, fact.value)
