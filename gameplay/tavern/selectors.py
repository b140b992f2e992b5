"""Reads of shared taverns: who is present where, a patron's name, what is claimed, and the
taverns for the admin. Presence is a patron with an open socket seen lately (a process that died
stops renewing its patrons, and they fade out after `PRESENCE_SECONDS`)."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from ..models import Patron, TavernClaim


def present_since() -> datetime:
    return timezone.now() - timedelta(seconds=settings.TANKARD_TAVERN["PRESENCE_SECONDS"])


def _present(tavern_id: int):
    """The tavern's patrons present: with an open socket, seen lately."""
    return Patron.objects.filter(tavern_id=tavern_id, sockets__gt=0, seen_at__gte=present_since())


def patrons_present(*, tavern_id: int, location: str | None = None, limit: int = 500) -> tuple[str, ...]:
    """The display names of the patrons present (at `location`, or anywhere in the tavern), sorted."""
    rows = _present(tavern_id)
    if location is not None:
        rows = rows.filter(location=location)
    return tuple(rows.order_by("name_key").values_list("name", flat=True)[:limit])


def patrons_by_location(*, tavern_id: int, but: str = "", limit: int = 500) -> dict[str, tuple[str, ...]]:
    """Where the patrons present stand: location -> their names, sorted; `but` a game left out."""
    rows = _present(tavern_id).exclude(game_id=but).order_by("name_key").values_list("location", "name")[:limit]
    found: dict[str, list[str]] = {}
    for location, name in rows:
        found.setdefault(location, []).append(name)
    return {location: tuple(names) for location, names in found.items()}


def patron_name(*, tavern_id: int, game_id: str) -> str:
    """The name a game goes by in a tavern ("" if it never came in)."""
    return Patron.objects.filter(tavern_id=tavern_id, game_id=game_id).values_list("name", flat=True).first() or ""


def tavern_claims(*, tavern_id: int, limit: int = 1000) -> dict[str, str]:
    """What is claimed in the tavern: key -> the patron who claimed it."""
    return dict(TavernClaim.objects.filter(tavern_id=tavern_id).values_list("key", "name")[:limit])
