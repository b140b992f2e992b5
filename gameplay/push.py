"""Pushing frames to a game's open sockets from anywhere: a Celery worker, a management command,
another process. The frame goes through the channel layer to the group `game.<id>`, so it reaches
the socket whichever server process holds it (Redis in production, in-memory when embedded)."""
from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def game_group(game_id: str) -> str:
    return f"game.{game_id}"


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
