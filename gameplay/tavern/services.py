"""Writes of shared taverns: entering one (made on the first visit), patrons arriving, moving,
renaming and leaving, each NPC's line of waiting players, and closing a tavern. Each is one short
transaction on the database, which every server process shares; the sockets are told through the
channel layer (gameplay/tavern/room.py)."""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import limits
from ..models import NpcWait, Patron, Tavern
from ..world import world_current
from .names import default_names, display_name_clean, name_key, npc_name_keys
from .selectors import patrons_present, present_since

NAME_ATTEMPTS = 5


@dataclass(frozen=True)
class TavernRef:
    id: int
    name: str


class TavernBarred(Exception):
    """The tavern cannot be entered: `reason` is "closed", or "busy" (this address opened too many)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NameRefused(Exception):
    """A display name the tavern will not take; `text` says why, in the world's words."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def tavern_enter(*, name: str, client: str = "") -> TavernRef:
    """The open tavern called `name` (already clean: `names.tavern_name_clean`), made on the first
    visit; raises TavernBarred when it is closed or this address has opened too many lately."""
    row = Tavern.objects.filter(name=name).values_list("id", "closed_at").first()
    if row is None:
        if not limits.tavern_create_allowed(client=client):
            raise TavernBarred("busy")
        tavern, _ = Tavern.objects.get_or_create(name=name)
        row = (tavern.id, tavern.closed_at)
    if row[1] is not None:
        raise TavernBarred("closed")
    return TavernRef(row[0], name)


# --- patrons ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Arrival:
    name: str
    first: bool  # the game's first socket in: the room is told it arrived
    present: tuple[str, ...]  # who stands at its location now, itself included


def patron_arrive(*, tavern: TavernRef, game_id: str, location: str) -> Arrival:
    """A socket of the game comes into the tavern at `location` (the game's first visit gives it a
    name of its own); raises TavernBarred when the tavern is closed."""
    for attempt in range(NAME_ATTEMPTS):
        try:
            with transaction.atomic():
                name, first = _arrive(tavern, game_id, location)
            break
        except IntegrityError:  # a newcomer took the same name at the same moment: pick again
            if attempt == NAME_ATTEMPTS - 1:
                raise
    return Arrival(name=name, first=first, present=patrons_present(tavern_id=tavern.id, location=location))


def _arrive(tavern: TavernRef, game_id: str, location: str) -> tuple[str, bool]:
    if Tavern.objects.filter(pk=tavern.id, closed_at__isnull=False).exists():
        raise TavernBarred("closed")
    patron = Patron.objects.select_for_update().filter(tavern_id=tavern.id, game_id=game_id).first()
    if patron is None:
        patron = Patron(tavern_id=tavern.id, game_id=game_id)
        patron.name = _free_name(tavern.id, game_id)
        patron.name_key = name_key(patron.name)
    gone = patron.sockets == 0 or patron.seen_at is None or patron.seen_at < present_since()
    patron.sockets = 1 if gone else patron.sockets + 1
    patron.location, patron.seen_at = location, timezone.now()
    patron.save()
    return patron.name, gone


def _free_name(tavern_id: int, game_id: str) -> str:
    taken = set(Patron.objects.filter(tavern_id=tavern_id).values_list("name_key", flat=True)) | _npc_keys()
    return next(n for n in default_names(zlib.crc32(str(game_id).encode())) if name_key(n) not in taken)


def _npc_keys() -> frozenset[str]:
    return npc_name_keys(npc.name for npc in world_current().npcs.values())


def patron_depart(*, tavern_id: int, game_id: str) -> bool:
    """A socket of the game leaves; True when it was the last (the game is gone from the room)."""
    with transaction.atomic():
        patron = Patron.objects.select_for_update().filter(tavern_id=tavern_id, game_id=game_id).first()
        if patron is None or patron.sockets == 0:
            return False
        patron.sockets -= 1
        patron.save(update_fields=["sockets"])
        return patron.sockets == 0


def patron_move(*, tavern_id: int, game_id: str, location: str) -> tuple[bool, tuple[str, ...]]:
    """The game now stands at `location`: (whether this call moved it, so that the room is told
    once however many of its sockets report the move, and who stands there now)."""
    moved = Patron.objects.filter(tavern_id=tavern_id, game_id=game_id).exclude(location=location).update(
        location=location, seen_at=timezone.now())
    return bool(moved), patrons_present(tavern_id=tavern_id, location=location)


def patron_seen(*, tavern_id: int, game_id: str, location: str) -> tuple[str, ...]:
    """An open socket renews its game's presence; who stands at `location` now."""
    Patron.objects.filter(tavern_id=tavern_id, game_id=game_id, sockets__gt=0).update(seen_at=timezone.now())
    return patrons_present(tavern_id=tavern_id, location=location)


@dataclass(frozen=True)
class Renamed:
    old: str
    name: str


def patron_rename(*, tavern_id: int, game_id: str, raw: str) -> Renamed:
    """Take the display name `raw` in the tavern; raises NameRefused (with why) when it is not a
    name, is an NPC's, or another patron of the tavern has it."""
    name, why = display_name_clean(raw)
    if name is None:
        raise NameRefused(why)
    key = name_key(name)
    if key in _npc_keys():
        raise NameRefused(f"{name}? That name's taken by someone who works here, and they'd have words with you.")
    try:
        with transaction.atomic():
            patron = Patron.objects.select_for_update().get(tavern_id=tavern_id, game_id=game_id)
            if Patron.objects.filter(tavern_id=tavern_id, name_key=key).exclude(pk=patron.pk).exists():
                raise NameRefused(f"Someone here already answers to {name}. Pick another.")
            old = patron.name
            patron.name, patron.name_key = name, key
            patron.save(update_fields=["name", "name_key"])
    except IntegrityError as exc:  # taken by another at the same moment
        raise NameRefused(f"Someone here already answers to {name}. Pick another.") from exc
    return Renamed(old=old, name=name)


# --- each NPC's line --------------------------------------------------------------------------------
def _lease():
    return timezone.now() + timedelta(seconds=settings.TANKARD_TAVERN["WAIT_LEASE_SECONDS"])


def npc_wait_join(*, tavern_id: int, npc_slug: str, game_id: str) -> int | None:
    """Take a place in the NPC's line; None when the game already has one there (one line at a time
    per player: a second waits for the first's answer)."""
    now = timezone.now()
    NpcWait.objects.filter(tavern_id=tavern_id, npc_slug=npc_slug, expires_at__lt=now).delete()  # lapsed places
    try:
        with transaction.atomic():
            return NpcWait.objects.create(tavern_id=tavern_id, npc_slug=npc_slug, game_id=game_id, expires_at=_lease()).pk
    except IntegrityError:
        return None


def npc_wait_ahead(*, wait_id: int, tavern_id: int, npc_slug: str) -> int | None:
    """How many live places are ahead of this one (the NPC answers the first `NPC_VOICES`), its
    lease renewed; None when the place is gone (the tavern was closed)."""
    if not NpcWait.objects.filter(pk=wait_id).update(expires_at=_lease()):
        return None
    return NpcWait.objects.filter(tavern_id=tavern_id, npc_slug=npc_slug, id__lt=wait_id, expires_at__gte=timezone.now()).count()


def npc_wait_renew(*, wait_id: int) -> bool:
    return bool(NpcWait.objects.filter(pk=wait_id).update(expires_at=_lease()))


def npc_wait_leave(*, wait_id: int) -> None:
    NpcWait.objects.filter(pk=wait_id).delete()


# --- staff ------------------------------------------------------------------------------------------
def tavern_close(*, tavern_id: int) -> bool:
    """Close a tavern: nobody may come in, its lines are dropped, and every socket in it is told and
    shown out (through the channel layer, once the close is committed). False if already closed."""
    from ..push import tavern_push_closed

    with transaction.atomic():
        closed = Tavern.objects.filter(pk=tavern_id, closed_at__isnull=True).update(closed_at=timezone.now())
        if closed:
            NpcWait.objects.filter(tavern_id=tavern_id).delete()
            Patron.objects.filter(tavern_id=tavern_id).update(sockets=0)
            transaction.on_commit(lambda: tavern_push_closed(tavern_id=tavern_id))
    return bool(closed)


def tavern_reopen(*, tavern_id: int) -> bool:
    return bool(Tavern.objects.filter(pk=tavern_id, closed_at__isnull=False).update(closed_at=None))
