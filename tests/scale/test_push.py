"""Frames pushed from outside a socket (a Celery task, another process) reach the game's sockets
through the channel layer; here the embedded in-memory layer, the task run in-process (a real
worker on Redis is in test_scale_out.py)."""
import pytest
from asgiref.sync import sync_to_async

from gameplay.push import game_announce, game_push
from gameplay.tasks import announce
from tests.websocket import connect

pytestmark = [pytest.mark.django_db(transaction=True)]


async def ready(cookie):
    comm, connected = await connect(cookie)
    assert connected
    await comm.receive_json_from()  # state
    await comm.receive_json_from()  # history
    return comm


async def test_game_push__reaches_every_tab_of_the_game(session_cookie):
    game, cookie = session_cookie
    tabs = [await ready(cookie), await ready(cookie)]
    frame = {"type": "narration", "reply_to": None, "text": "A cold draught blows through the door."}
    assert await sync_to_async(game_push)(game_id=str(game.id), frame=frame)
    for tab in tabs:
        assert await tab.receive_json_from() == frame
        await tab.disconnect()


async def test_announce_task__pushes_an_unprompted_narration(session_cookie):
    game, cookie = session_cookie
    comm = await ready(cookie)
    await sync_to_async(announce.apply)(args=(str(game.id), "The bell over the door rings."))  # as a worker runs it
    assert await comm.receive_json_from() == {"type": "narration", "reply_to": None, "text": "The bell over the door rings."}
    await comm.disconnect()


async def test_announce__unknown_game_or_empty_text_pushes_nothing(session_cookie):
    game, cookie = session_cookie
    comm = await ready(cookie)
    assert not await sync_to_async(game_announce)(game_id="00000000-0000-0000-0000-000000000000", text="Hello")
    assert not await sync_to_async(game_announce)(game_id=str(game.id), text="  ")
    assert await comm.receive_nothing(timeout=0.2)
    await comm.disconnect()
