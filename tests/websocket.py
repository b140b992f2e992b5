"""Playing over the real ASGI application (origin check, session, consumer), for every test that
talks over a socket: a game bound to a session cookie, a connected socket, reading up to a final frame."""
from __future__ import annotations

import json

from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore

from gameplay import services

FINAL_TYPES = {"narration", "npc.end", "error"}


def game_with_cookie(session_key: str = "ws") -> tuple[str, str]:
    """A new game tied to a new session: (game id, Cookie header value)."""
    game = services.game_create(session_key=session_key)
    session = SessionStore()
    session["game_id"] = str(game.id)
    session.create()
    return str(game.id), f"sessionid={session.session_key}"


async def connect(cookie: str | None, origin: str = "http://localhost", *, tavern: str | None = None) -> tuple[WebsocketCommunicator, bool]:
    """A socket to the game of `cookie`; in the shared tavern `tavern` when given."""
    from urllib.parse import quote

    from tankard_site.asgi import application

    headers = [(b"origin", origin.encode())]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    path = "/ws/play/" if tavern is None else f"/ws/play/?tavern={quote(tavern)}"
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await comm.connect()
    return comm, connected


async def arrive(cookie: str, *, tavern: str | None = None) -> tuple[WebsocketCommunicator, dict, dict]:
    """A socket past its greeting: it, the state frame and the history frame."""
    comm, connected = await connect(cookie, tavern=tavern)
    assert connected
    state = await comm.receive_json_from(timeout=5)
    assert state["type"] == "state", state
    history = await comm.receive_json_from(timeout=5)
    assert history["type"] == "history", history
    return comm, state, history


async def ready(cookie: str, *, tavern: str | None = None) -> tuple[WebsocketCommunicator, dict]:
    """A socket past its greeting, and the state frame."""
    comm, state, _ = await arrive(cookie, tavern=tavern)
    return comm, state


async def until_final(comm: WebsocketCommunicator, reply_to: str | None, timeout: float = 8) -> list[dict]:
    """Frames up to and including the final frame for `reply_to`."""
    frames = []
    while True:
        frame = await comm.receive_json_from(timeout=timeout)
        frames.append(frame)
        if frame.get("reply_to") == reply_to and frame["type"] in FINAL_TYPES:
            return frames


async def play(comm: WebsocketCommunicator, text: str, cid: str, *, kind: str = "command", npc: str = "gareth",
               timeout: float = 8, private: bool | None = None) -> list[dict]:
    frame = {"type": kind, "id": cid, "text": text}
    if kind == "say":
        frame["npc"] = npc
    if private is not None:
        frame["private"] = private
    await comm.send_to(text_data=json.dumps(frame))
    return await until_final(comm, cid, timeout=timeout)


async def drain(comm: WebsocketCommunicator, timeout: float = 0.3) -> list[dict]:
    """Whatever frames arrive until none comes for `timeout` (state frames after a final, pushes).
    Polls: a communicator's receive timeout would cancel the application."""
    frames = []
    while not await comm.receive_nothing(timeout=timeout):
        frames.append(await comm.receive_json_from())
    return frames
