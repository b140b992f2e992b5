"""Celery tasks of gameplay: thin interfaces to the services (see STYLE.md)."""
from __future__ import annotations

from celery import shared_task

from . import services
from .push import game_announce, game_push


@shared_task(name="gameplay.tasks.announce", ignore_result=True)
def announce(game_id: str, text: str) -> bool:
    """Tell a game's players something happened; pushed to whichever process holds their sockets.
    Running it twice shows the line twice and changes nothing else."""
    return game_announce(game_id=game_id, text=text)


@shared_task(name="gameplay.tasks.grant", ignore_result=True)
def grant(game_id: str, key: str, text: str, gold: int = 0, item: str = "") -> bool:
    """Give a game gold or an item once per `key` (services.game_grant) and show it to its open
    sockets. Idempotent: a run after the first changes nothing and shows nothing."""
    result = services.game_grant(game_id=game_id, key=key, text=text, gold=gold, item=item)
    if result.replayed:
        return False
    game_push(game_id=game_id, frame=result.final)
    game_push(game_id=game_id, frame=result.state)
    return True
