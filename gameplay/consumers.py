"""The websocket consumer: parses frames, starts each turn as a task, sends what comes back.
It holds no rules (see gameplay/play.py and gameplay/services/). A socket opened with
`?tavern=<name>` plays in that shared tavern (its `Room`, gameplay/tavern/room.py); without, the
game is a private tavern, as it always was."""
from __future__ import annotations

import asyncio
import functools
import logging
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.consumer import get_handler_name

from .aio import URGENT, db_async
from .push import game_group
from . import services
from .metrics import connection_closed, connection_opened
from .play import aframe_play
from .protocol import FrameError, error_frame, frame_parse, frame_text
from .selectors import turns_recent
from .tavern.names import tavern_name_clean
from .tavern.room import Room
from .tavern.services import TavernBarred

logger = logging.getLogger(__name__)
NO_GAME_CLOSE_CODE = 4001
NO_TAVERN_CLOSE_CODE = 4002  # a bad tavern name, or a tavern staff closed: the page's door is barred too
BARRED_CODES = {"bad_name": "bad_tavern", "closed": "tavern_closed", "busy": "rate_limited"}
TAVERN_CLOSING = ("Gareth rings the bell hard and calls last orders for good: the tavern is closing. "
                  "The lamps go out one by one, and you find yourself out on the road.")
LAYER_RETRY_SECONDS = (0.5, 4.0)  # first and longest wait between tries while the channel layer is down
GROUP_REFRESH_SECONDS = 30.0  # how often a socket renews its game group (a restarted Redis forgot it)
MAX_TURNS_IN_FLIGHT = 16  # per socket: a flood of frames is refused at once instead of queueing tasks
DISCONNECT_GRACE_SECONDS = 5.0  # how long a closing socket waits for its cancelled turns to wind up
# Events whose handlers touch no database on this thread: dispatched without Channels' closing of
# stale connections first, a trip to a worker thread and back for every event. Turns manage their
# own connections (aio.py).
NO_DATABASE_EVENTS = frozenset({"game.state", "game.frame"})




class PlayConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        connection_opened()
        self.tasks: set[asyncio.Task] = set()
        self.lock = asyncio.Lock()
        self.speaking: set[str] = set()
        self.room: Room | None = None
        self.game_id = await db_async(self._session_game, priority=URGENT)()
        await self.accept()
        state = await self._astate() if self.game_id else None
        if state is None:
            await self.send_json(error_frame("no_game", None))
            await self.close(code=NO_GAME_CLOSE_CODE)
            return
        if (asked := self._tavern_asked()) is not None and not await self._aenter_tavern(asked, state):
            return
        await self._join_group()
        self._start(self._akeep_joined())
        history = await db_async(turns_recent, priority=URGENT)(game_id=self.game_id, limit=30)
        await self.send_json(state)
        await self.send_json({"type": "history", "turns": history})

    def _tavern_asked(self) -> str | None:
        """The shared tavern the socket asks for (`?tavern=<name>`), None for a private one."""
        asked = parse_qs(self.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True).get("tavern")
        return asked[0] if asked else None

    async def _aenter_tavern(self, asked: str, state: dict) -> bool:
        """Come into the shared tavern; a bad name or a closed tavern is said, and the socket closed."""
        client = (self.scope.get("client") or ("",))[0] or ""
        try:
            if (name := tavern_name_clean(asked)) is None:
                raise TavernBarred("bad_name")
            self.room = await Room.aopen(name=name, client=client, game_id=self.game_id, location=state["location"]["slug"],
                                         layer=self.channel_layer, deliver=self.send_json, deliver_text=self._send_text,
                                         closed=self._atavern_closed)
        except TavernBarred as barred:
            await self.send_json(error_frame(BARRED_CODES[barred.reason], None))
            await self.close(code=NO_TAVERN_CLOSE_CODE)
            return False
        return True

    async def _astate(self) -> dict | None:
        try:
            return await db_async(services.game_state_frame, priority=URGENT)(game_id=self.game_id)
        except services.GameNotFound:  # state and every snapshot unreadable: the page starts a new game
            logger.error("game %s cannot be loaded; answering no_game", self.game_id)
            self.game_id = None
            return None

    def _start(self, coro) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _join_group(self, *, quiet: bool = False) -> bool:
        try:
            await self.channel_layer.group_add(game_group(self.game_id), self.channel_name)
        except Exception as exc:  # a channel layer outage must not keep the player out
            (logger.debug if quiet else logger.warning)("channel layer unavailable (%s); playing without cross-tab updates", exc)
            return False
        return True

    async def _akeep_joined(self) -> None:
        """Renew the group membership now and then: after a Redis restart (groups lost) or a long
        stay (groups expire), the other tabs' turns reach this socket again."""
        while True:
            await asyncio.sleep(GROUP_REFRESH_SECONDS)
            await self._join_group(quiet=True)
            if self.room is not None:
                try:
                    await self.room.akeep()
                except Exception:
                    logger.warning("presence in tavern %s not renewed", self.room.tavern.id, exc_info=True)

    async def dispatch(self, message: dict) -> None:
        if message.get("type") in NO_DATABASE_EVENTS:
            await getattr(self, get_handler_name(message))(message)
            return
        await super().dispatch(message)

    # Channels sets `channel_receive` in __call__ and ends the socket when it raises, so a Redis
    # outage would drop every player at once. Wrapped, the socket waits the outage out.
    @property
    def channel_receive(self):
        return self._channel_receive

    @channel_receive.setter
    def channel_receive(self, receive) -> None:
        self._channel_receive = functools.partial(self._alayer_receive, receive)

    async def _alayer_receive(self, receive) -> dict:
        wait, longest = LAYER_RETRY_SECONDS
        while True:
            try:
                return await receive()
            except Exception as exc:
                logger.warning("channel layer unavailable (%s); trying again in %.1fs", exc, wait)
            await asyncio.sleep(wait)
            wait = min(wait * 2, longest)

    def _session_game(self) -> str | None:
        session = self.scope.get("session")
        game_id = session.get("game_id") if session is not None else None
        return game_id if game_id and services.game_exists(game_id=game_id) else None

    async def disconnect(self, code: int) -> None:
        connection_closed()
        tasks = list(getattr(self, "tasks", ()))
        for task in tasks:
            task.cancel()
        if tasks:  # a turn cancelled as its reply ended still stores what the reply changed: let it
            await asyncio.wait(tasks, timeout=DISCONNECT_GRACE_SECONDS)
        if getattr(self, "room", None) is not None:
            await self.room.aleave()
        if getattr(self, "game_id", None):
            try:
                await self.channel_layer.group_discard(game_group(self.game_id), self.channel_name)
            except Exception:
                logger.warning("channel layer unavailable on disconnect", exc_info=True)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.game_id:
            return
        parsed = frame_parse(text_data, bytes_data)
        if isinstance(parsed, FrameError):
            await self.send_json(parsed.frame())
            return
        if len(self.tasks) > MAX_TURNS_IN_FLIGHT:  # (one task is the group keeper)
            await self.send_json(error_frame("rate_limited", parsed.id))
            return
        self._start(aframe_play(game_id=self.game_id, frame=parsed, send=self._send_turn_frame, lock=self.lock,
                                speaking=self.speaking, room=self.room))

    async def _send_turn_frame(self, frame: dict) -> None:
        await self.send_json(frame)
        if frame.get("type") == "state":
            await self._share_state(frame)

    async def _share_state(self, frame: dict) -> None:
        """Other tabs (and processes) playing the same game see the new state too."""
        try:
            await self.channel_layer.group_send(game_group(self.game_id), {"type": "game.state", "frame": frame, "origin": self.channel_name})
        except Exception:
            logger.warning("channel layer unavailable; state not shared", exc_info=True)

    async def game_state(self, event: dict) -> None:
        if event.get("origin") != self.channel_name:
            await self.send_json(event["frame"])

    async def game_frame(self, event: dict) -> None:
        """A frame pushed to the game from elsewhere (a background worker, another process)."""
        await self.send_json(event["frame"])

    # --- a shared tavern (what its groups hear comes through the process's hub, gameplay/tavern/hub.py)
    async def _send_text(self, text: str) -> None:
        await self.send(text_data=text)

    async def _atavern_closed(self) -> None:
        """Staff closed the tavern: everyone in it is told, and shown out."""
        await self.send_json({"type": "narration", "reply_to": None, "text": TAVERN_CLOSING})
        await self.send_json(error_frame("tavern_closed", None))
        await self.close(code=NO_TAVERN_CLOSE_CODE)

    async def send_json(self, content: dict) -> None:
        if content.get("type") == "state" and getattr(self, "room", None) is not None:
            content = await self.room.astate(content)
        await self.send(text_data=frame_text(content))
