"""The websocket consumer: parses frames, starts each turn as a task, sends what comes back.
It holds no rules (see gameplay/play.py and gameplay/services.py)."""
from __future__ import annotations

import asyncio
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from . import services
from .play import aframe_play
from .protocol import FrameError, error_frame, frame_parse
from .selectors import turns_recent

logger = logging.getLogger(__name__)
NO_GAME_CLOSE_CODE = 4001


def game_group(game_id: str) -> str:
    return f"game.{game_id}"


class PlayConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.tasks: set[asyncio.Task] = set()
        self.lock = asyncio.Lock()
        self.speaking: set[str] = set()
        self.game_id = await database_sync_to_async(self._session_game)()
        await self.accept()
        if not self.game_id:
            await self.send_json(error_frame("no_game", None))
            await self.close(code=NO_GAME_CLOSE_CODE)
            return
        try:
            await self.channel_layer.group_add(game_group(self.game_id), self.channel_name)
        except Exception:  # a channel layer outage must not keep the player out
            logger.warning("channel layer unavailable; playing without cross-tab updates", exc_info=True)
        state = await database_sync_to_async(services.game_state_frame)(game_id=self.game_id)
        history = await database_sync_to_async(turns_recent)(game_id=self.game_id, limit=30)
        await self.send_json(state)
        await self.send_json({"type": "history", "turns": history})

    def _session_game(self) -> str | None:
        session = self.scope.get("session")
        game_id = session.get("game_id") if session is not None else None
        return game_id if game_id and services.game_exists(game_id=game_id) else None

    async def disconnect(self, code: int) -> None:
        for task in list(getattr(self, "tasks", ())):
            task.cancel()
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
        task = asyncio.create_task(aframe_play(game_id=self.game_id, frame=parsed, send=self._send_turn_frame, lock=self.lock, speaking=self.speaking))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

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

    async def send_json(self, content: dict) -> None:
        await self.send(text_data=json.dumps(content, ensure_ascii=False))
