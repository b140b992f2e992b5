"""Pushing frames to a game's open sockets from anywhere: a Celery worker, a management command,
another process. The frame goes through the channel layer to the group `game.<id>`, so it reaches
the socket whichever server process holds it (Redis in production, in-memory when embedded).
A shared tavern has two kinds of group: `tavern.<id>` (the tavern closing, an NPC's line moving)
and `tavern.<id>.<location>` (what is said aloud there); their members are server processes, each
handing what it hears to its sockets (gameplay/tavern/hub.py)."""
from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def game_group(game_id: str) -> str:
    return f"game.{game_id}"


def tavern_group(tavern_id: int) -> str:
    return f"tavern.{tavern_id}"


def room_group(tavern_id: int, location: str) -> str:
    return f"tavern.{tavern_id}.{location}"[:99]


def tavern_push_closed(*, tavern_id: int) -> bool:
    """Tell every socket in the tavern that staff closed it (each says so and closes)."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        group = tavern_group(tavern_id)
        async_to_sync(layer.group_send)(group, {"type": "tavern.closed", "group": group})
    except Exception:
        logger.warning("channel layer unavailable; tavern %s closed without telling its sockets", tavern_id, exc_info=True)
        return False
    return True


def game_push(*, game_id: str, frame: dict) -> bool:
    """Send `frame` to every socket of the game; False when the channel layer could not take it."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        async_to_sync(layer.group_send)(game_group(str(game_id)), {"type": "game.frame", "frame": frame})
    except Exception:  # a channel layer outage loses a push, never the game
        logger.warning("channel layer unavailable; frame for game %s not pushed", game_id, exc_info=True)
        return False
    return True


def game_announce(*, game_id: str, text: str) -> bool:
    """Tell the players of a game that something happened: an unprompted `narration` frame."""
    from .services import game_exists

    if not text.strip() or not game_exists(game_id=game_id):
        return False
    return game_push(game_id=game_id, frame={"type": "narration", "reply_to": None, "text": text})
