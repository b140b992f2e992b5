"""Reads of gameplay data for pages and the protocol."""
from __future__ import annotations

from datetime import datetime

from .models import Turn
from .world import world_current


def turns_recent(*, game_id: str, limit: int = 30) -> list[dict]:
    """The game's last turns, oldest first, as the `history` frame lists them."""
    rows = list(Turn.objects.filter(game_id=game_id).order_by("-id").only("kind", "text", "npc_slug", "final")[:limit])
    npcs = world_current().npcs
    return [
        {"kind": t.kind, "text": t.text, "npc": t.npc_slug or None,
         "npc_name": npcs[t.npc_slug].name if t.npc_slug in npcs else None,
         "reply": t.final.get("text", ""), "reply_type": t.final.get("type")}
        for t in reversed(rows)
    ]


def npc_replies_recent(*, game_id: str, npc_slug: str, limit: int = 24) -> tuple[str, ...]:
    """What the NPC last said to this game's player, newest first: a reply the checks must not say again
    (the prompt's recent turns hold only the last few exchanges)."""
    rows = Turn.objects.filter(game_id=game_id, kind="say", npc_slug=npc_slug).order_by("-id").values_list("final", flat=True)[:limit]
    return tuple(text for final in rows if isinstance(final, dict) and (text := final.get("text")))


def games_active_count(*, since: datetime) -> int:
    """Games that played a turn at or after `since`."""
    return Turn.objects.filter(created_at__gte=since).values("game_id").distinct().count()


def say_turns_recent(*, limit: int = 50) -> list[Turn]:
    """The latest NPC replies across all games, newest first, for the prompt inspector."""
    return list(Turn.objects.filter(kind="say").order_by("-id").only("id", "game_id", "client_id", "npc_slug", "text", "final", "source", "created_at")[:limit])


def turn_get(*, turn_id: int) -> Turn | None:
    return Turn.objects.filter(pk=turn_id).first()
