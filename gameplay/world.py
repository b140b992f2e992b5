"""The world's static data as frozen plain values, loaded once per process and shared read-only by
every game; reloaded when an editor changes it (a version stamp in the cache says when)."""
from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from django.core.cache import cache

from llm.lru import BoundedLRU
from llm.reply_cache import Aliases, Asked
from npcs.canon import CanonDef
from npcs.persona import NpcDef
from npcs.selectors import canon_facts_all, npc_definitions_all

from .models import Bounty, Item, Job, Location, Mystery, Rumour, WorldConfig

logger = logging.getLogger(__name__)
WORLD_STAMP_KEY = "world:stamp"
UNKNOWN_STAMP_RECHECK_SECONDS = 30.0


@dataclass(frozen=True)
class FeatureDef:
    slug: str
    name: str
    aliases: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class LocationDef:
    slug: str
    name: str
    aliases: tuple[str, ...]
    description: str
    exits: tuple[str, ...]
    features: tuple[FeatureDef, ...]
    private: bool


@dataclass(frozen=True)
class ItemDef:
    slug: str
    name: str
    aliases: tuple[str, ...]
    kind: str
    price: int
    sold_at: frozenset[str]
    seller: str | None
    description: str
    consumable: bool
    effects: Mapping[str, int]
    use_text: str
    recommended: bool = False


@dataclass(frozen=True)
class JobDef:
    slug: str
    name: str
    aliases: tuple[str, ...]
    description: str
    location: str
    giver: str | None
    pay: int
    minutes: int
    tiredness: int
    min_tier: str
    work_text: str


@dataclass(frozen=True)
class ObjectiveDef:
    kind: str
    item: str | None
    npc: str | None
    location: str | None
    text: str


@dataclass(frozen=True)
class BountyDef:
    slug: str
    title: str
    description: str
    giver: str | None
    min_tier: str
    reward_gold: int
    reward_item: str | None
    reward_relationship: int
    complete_text: str
    objectives: tuple[ObjectiveDef, ...]


@dataclass(frozen=True)
class RumourDef:
    slug: str
    text: str
    days: frozenset[int] | None
    source: str | None


@dataclass(frozen=True)
class ClueDef:
    slug: str
    text: str
    kind: str
    location: str | None
    feature: str
    npc: str | None
    keywords: tuple[str, ...]
    min_tier: str
    hours: frozenset[int] | None


@dataclass(frozen=True)
class MysteryDef:
    slug: str
    title: str
    intro: str
    culprit: str
    min_clues: int
    reward_gold: int
    solved_text: str
    wrong_text: str
    not_ready_text: str
    clues: tuple[ClueDef, ...]


@dataclass(frozen=True)
class ConfigDef:
    start_location: str
    start_gold: int
    start_day: int
    start_hour: int
    min_bet: int
    max_bet: int


@dataclass(frozen=True)
class World:
    stamp: str
    config: ConfigDef
    locations: Mapping[str, LocationDef]
    items: Mapping[str, ItemDef]
    jobs: Mapping[str, JobDef]
    bounties: Mapping[str, BountyDef]
    rumours: tuple[RumourDef, ...]
    mystery: MysteryDef | None
    npcs: Mapping[str, NpcDef]
    canon: tuple[CanonDef, ...] = ()  # the active canon facts, highest priority first (npcs/canon.py)


def _freeze(mapping: dict) -> Mapping:
    return MappingProxyType(mapping)


def _locations() -> dict[str, LocationDef]:
    rows = Location.objects.prefetch_related("exits", "features")
    return {
        loc.slug: LocationDef(
            slug=loc.slug, name=loc.name, aliases=tuple(loc.aliases or ()), description=loc.description,
            exits=tuple(e.slug for e in sorted(loc.exits.all(), key=lambda e: (e.order, e.slug))),
            features=tuple(FeatureDef(f.slug, f.name, tuple(f.aliases or ()), f.description) for f in loc.features.all()),
            private=loc.private,
        )
        for loc in rows
    }


def _items() -> dict[str, ItemDef]:
    rows = Item.objects.select_related("seller").prefetch_related("sold_at")
    return {
        i.slug: ItemDef(
            slug=i.slug, name=i.name, aliases=tuple(i.aliases or ()), kind=i.kind, price=i.price,
            sold_at=frozenset(l.slug for l in i.sold_at.all()), seller=i.seller.slug if i.seller else None,
            description=i.description, consumable=i.consumable, effects=_freeze(dict(i.effects or {})), use_text=i.use_text,
            recommended=i.recommended,
        )
        for i in rows
    }


def _jobs() -> dict[str, JobDef]:
    rows = Job.objects.select_related("location", "giver")
    return {
        j.slug: JobDef(
            slug=j.slug, name=j.name, aliases=tuple(j.aliases or ()), description=j.description, location=j.location.slug,
            giver=j.giver.slug if j.giver else None, pay=j.pay, minutes=j.minutes, tiredness=j.tiredness,
            min_tier=j.min_tier, work_text=j.work_text,
        )
        for j in rows
    }


def _bounties() -> dict[str, BountyDef]:
    rows = Bounty.objects.filter(is_active=True).select_related("giver", "reward_item").prefetch_related(
        "objectives__item", "objectives__npc", "objectives__location"
    )
    return {
        b.slug: BountyDef(
            slug=b.slug, title=b.title, description=b.description, giver=b.giver.slug if b.giver else None,
            min_tier=b.min_tier, reward_gold=b.reward_gold, reward_item=b.reward_item.slug if b.reward_item else None,
            reward_relationship=b.reward_relationship, complete_text=b.complete_text,
            objectives=tuple(
                ObjectiveDef(
                    kind=o.kind, item=o.item.slug if o.item else None, npc=o.npc.slug if o.npc else None,
                    location=o.location.slug if o.location else None, text=o.text,
                )
                for o in b.objectives.all()
            ),
        )
        for b in rows
    }


def _mystery() -> MysteryDef | None:
    m = Mystery.objects.select_related("culprit").prefetch_related("clues__location", "clues__npc").first()
    if m is None:
        return None
    clues = tuple(
        ClueDef(
            slug=c.slug, text=c.text, kind=c.kind, location=c.location.slug if c.location else None,
            feature=c.feature_slug, npc=c.npc.slug if c.npc else None,
            keywords=tuple(k.strip().lower() for k in c.keywords.split(",") if k.strip()),
            min_tier=c.min_tier, hours=frozenset(c.hours) if c.hours else None,
        )
        for c in m.clues.all()
    )
    return MysteryDef(
        slug=m.slug, title=m.title, intro=m.intro, culprit=m.culprit.slug, min_clues=m.min_clues,
        reward_gold=m.reward_gold, solved_text=m.solved_text, wrong_text=m.wrong_text,
        not_ready_text=m.not_ready_text, clues=clues,
    )


def world_load(*, stamp: str) -> World:
    """Read the whole world from the database: a fixed number of queries."""
    locations = _locations()
    config_row = WorldConfig.objects.first() or WorldConfig()
    start = next((l.slug for l in Location.objects.filter(is_start=True).only("slug")), None)
    config = ConfigDef(
        start_location=start or next(iter(locations), "common-room"), start_gold=config_row.start_gold,
        start_day=config_row.start_day, start_hour=config_row.start_hour,
        min_bet=config_row.min_bet, max_bet=config_row.max_bet,
    )
    rumours = tuple(
        RumourDef(slug=r.slug, text=r.text, days=frozenset(r.days) if r.days else None, source=r.source.slug if r.source else None)
        for r in Rumour.objects.select_related("source")
    )
    return World(
        stamp=stamp, config=config, locations=_freeze(locations), items=_freeze(_items()), jobs=_freeze(_jobs()),
        bounties=_freeze(_bounties()), rumours=rumours, mystery=_mystery(),
        npcs=_freeze({n.slug: n for n in npc_definitions_all()}), canon=canon_facts_all(),
    )


class _WorldHolder:
    def __init__(self) -> None:
        self.world: World | None = None
        self.checked_at = 0.0
        self.lock = threading.Lock()


_holder = _WorldHolder()


def _read_stamp() -> str | None:
    try:
        return cache.get(WORLD_STAMP_KEY)
    except Exception:  # a cache outage must not stop the game
        logger.warning("world stamp unreadable; keeping the loaded world", exc_info=True)
        return None


def world_current() -> World:
    """The shared world, reloaded only when an editor changed it (one cache read per call)."""
    stamp = _read_stamp()
    world = _holder.world
    now = time.monotonic()
    if world is not None and (stamp == world.stamp or (stamp is None and now - _holder.checked_at < UNKNOWN_STAMP_RECHECK_SECONDS)):
        return world
    with _holder.lock:
        if _holder.world is not None and _holder.world.stamp == stamp:
            return _holder.world
        if stamp is None:
            stamp = uuid.uuid4().hex
            try:
                cache.add(WORLD_STAMP_KEY, stamp, None)
                stamp = cache.get(WORLD_STAMP_KEY) or stamp
            except Exception:
                logger.warning("world stamp not stored", exc_info=True)
        _holder.world = world_load(stamp=stamp)
        _holder.checked_at = now
        return _holder.world


def world_changed() -> None:
    """Tell every process that the world's content changed (called after admin edits and loadworld)."""
    try:
        cache.set(WORLD_STAMP_KEY, uuid.uuid4().hex, None)
    except Exception:
        logger.warning("world stamp not stored", exc_info=True)
    _holder.world = None


def world_aliases(world: World, npc_slug: str) -> Aliases:
    """The world's names for its people, places and things, for the reply cache to read a line by (an
    NPC by first or full name or role; the addressed one is "you"); made once per world and NPC."""
    return _per_npc(world, npc_slug, "aliases", _aliases_of)


def world_asked(world: World, npc_slug: str) -> Asked:
    """The questions players put to the NPC, as the reply cache reads them; made once per world and
    NPC (its digest keys every decision)."""
    return _per_npc(world, npc_slug, "asked", lambda w, slug: Asked(questions=w.npcs[slug].asked))


def _per_npc(world: World, npc_slug: str, what: str, make):
    found = _reply_cache_values.get((world.stamp, npc_slug, what))
    if found is None:
        found = make(world, npc_slug)
        _reply_cache_values.put((world.stamp, npc_slug, what), found)
    return found


_reply_cache_values: BoundedLRU = BoundedLRU(128)  # (world stamp, NPC, what) -> Aliases or Asked


def _aliases_of(world: World, npc_slug: str) -> Aliases:
    groups, own = [], ()
    for npc in world.npcs.values():
        names = (npc.name, npc.name.split()[0], re.split(r" of | in | and ", npc.role)[0].split()[-1])
        if npc.slug in npc.name.lower().split():  # the short name the game itself calls them by: "Varr", "Quince"
            names += (npc.slug,)
        if npc.slug == npc_slug:
            own = names
        else:
            groups.append((f"npc:{npc.slug}", names))
    groups += [(f"item:{item.slug}", (item.name, *item.aliases)) for item in world.items.values()]
    within = []
    for place in world.locations.values():
        groups.append((f"place:{place.slug}", (place.name.removeprefix("The "), *place.aliases)))
        for feature in place.features:
            groups.append((f"thing:{feature.slug}", (feature.name.removeprefix("the "), *feature.aliases)))
            within.append((f"thing:{feature.slug}", f"place:{place.slug}"))
    return Aliases(groups=tuple(groups), own=own, within=tuple(within))
