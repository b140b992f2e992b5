"""Celery tasks of gameplay: thin interfaces to the services (see STYLE.md)."""
from __future__ import annotations

from celery import shared_task

from .push import game_announce


@shared_task(name="gameplay.tasks.announce", ignore_result=True)
def announce(game_id: str, text: str) -> bool:
    """Tell a game's players something happened; pushed to whichever process holds their sockets.
    Running it twice shows the line twice and changes nothing else."""
    return game_announce(game_id=game_id, text=text)
