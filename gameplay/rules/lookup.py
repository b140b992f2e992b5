"""Find the world's things by the words a player used for them."""
from __future__ import annotations

from collections.abc import Iterable

from npcs.persona import NpcDef, name_words, role_nouns

from ..world import BountyDef, FeatureDef, ItemDef, JobDef, LocationDef, World
from .parser import words_match


def _first(things: Iterable, words: str, names) -> object | None:
    """An exact match anywhere beats a loose one: "your room" is the guest room, not the common room."""
    pool = list(things)
    for strict in (True, False):
        for thing in pool:
            if words_match(words, *names(thing), strict=strict):
                return thing
    return None


def find_item(world: World, words: str, among: Iterable[str] | None = None) -> ItemDef | None:
    pool = [world.items[s] for s in among if s in world.items] if among is not None else world.items.values()
    return _first(pool, words, lambda i: (i.slug, i.name, *i.aliases))


def find_location(world: World, words: str) -> LocationDef | None:
    return _first(world.locations.values(), words, lambda l: (l.slug, l.name, *l.aliases))


def find_feature(location: LocationDef, words: str) -> FeatureDef | None:
    return _first(location.features, words, lambda f: (f.slug, f.name, *f.aliases))


def find_npc(npcs: Iterable[NpcDef], words: str) -> NpcDef | None:
    def names(n: NpcDef):
        first = n.name.split()[0]
        return (n.slug, n.name, first, n.role, *n.role.split(" and "))

    return _first(npcs, words, names)


def find_job(jobs: Iterable[JobDef], words: str) -> JobDef | None:
    return _first(jobs, words, lambda j: (j.slug, j.name, *j.aliases))


def find_bounty(bounties: Iterable[BountyDef], words: str) -> BountyDef | None:
    return _first(bounties, words, lambda b: (b.slug, b.title, b.title.lower().removeprefix("the ")))


def item_name(world: World, slug: str, qty: int = 1) -> str:
    item = world.items.get(slug)
    name = item.name if item else slug.replace("-", " ")
    return f"{qty} × {name}" if qty > 1 else name


def npc_named(npcs: Iterable[NpcDef], words: str) -> NpcDef | None:
    """The NPC `words` name exactly (not loosely, as `find_npc` does): its slug, its name or a word of
    it, or what it is ("the captain")."""
    words = " ".join(words.lower().split()).removeprefix("the ")
    for npc in npcs:
        if words in {npc.slug, npc.name.lower(), *(w.lower() for w in name_words(npc)), *role_nouns(npc.role)}:
            return npc
    return None


def place_said(name: str) -> str:
    """A place's name inside a sentence: "The Cellar" -> "the Cellar"."""
    return "the " + name[4:] if name.startswith("The ") else name


_ON = ("landing", "stairs", "roof", "terrace", "porch", "deck", "balcony", "bridge", "quay", "jetty")


def place_in(name: str) -> str:
    """Where someone is, inside a sentence: "in the Cellar", "on the Upstairs Landing"."""
    return ("on " if name.lower().endswith(_ON) else "in ") + place_said(name)


def listed(parts: list[str], last: str = " and ") -> str:
    """ "a, b and c" (`last`: what joins the last one: " and ", ", and ", ", or ")."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + last + parts[-1]


def with_article(name: str) -> str:
    """'a mug of ale', 'an old map', 'the rusted tankard' as it stands."""
    if name.lower().startswith(("the ", "a ", "an ", "some ")) or "×" in name:
        return name
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"
