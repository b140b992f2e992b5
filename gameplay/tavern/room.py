"""One socket's place in a shared tavern, on the channel layer, so that it works the same across
any number of server processes: through its process's hub (gameplay/tavern/hub.py) the socket hears
the tavern's group (`tavern.<id>`: closing, the NPCs' lines moving) and its location's group
(`tavern.<id>.<location>`: what is said aloud there).

What a player says aloud is sent to the location's group as `room.say`, and the NPC's reply,
streamed to the speaker as `npc.*` frames, is sent there too as `room.npc.*` frames: the room
relays the very frames the reply path sends, nothing else. A whisper is never relayed. Each NPC
serves its line of waiting players in turn (`services.npc_wait_*`), whichever process holds them.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from django.conf import settings

from ..aio import NORMAL, URGENT, auncancelled, db_async
from ..protocol import frame_text
from ..push import room_group, tavern_group
from .hub import room_hub
from .services import (
    NameRefused, TavernRef, npc_wait_ahead, npc_wait_join, npc_wait_leave, npc_wait_renew, patron_arrive,
    patron_depart, patron_move, patron_rename, patron_seen, tavern_enter,
)

logger = logging.getLogger(__name__)
Send = Callable[[dict], Awaitable[None]]
QUEUE_POLL_SECONDS = 2.0  # a waiting line looks again this often, if no socket said the line moved
SAID_FINALS = frozenset({"npc.end", "error"})
PRESENCE = frozenset({"room.join", "room.leave", "room.rename"})


class NpcBusy(Exception):
    """The player already has a line waiting for (or being answered by) this NPC in this tavern."""


class Room:
    """A socket in a shared tavern: who it is there, where it stands, who stands with it."""

    def __init__(self, *, tavern: TavernRef, game_id: str, layer, deliver: Send, deliver_text: Callable[[str], Awaitable[None]],
                 closed: Callable[[], Awaitable[None]]) -> None:
        self.tavern, self.game_id = tavern, game_id
        self.layer, self.deliver, self.deliver_text, self.closed = layer, deliver, deliver_text, closed
        self.hub = room_hub(layer)
        self.name, self.location = "", ""
        self.players: list[str] = []
        self._moving = asyncio.Lock()
        self._lines_moved: dict[str, asyncio.Event] = {}

    @classmethod
    async def aopen(cls, *, name: str, client: str, game_id: str, location: str, layer, deliver: Send,
                    deliver_text: Callable[[str], Awaitable[None]], closed: Callable[[], Awaitable[None]]) -> Room:
        """Come into the tavern `name` (made on the first visit); raises TavernBarred. `deliver`
        sends this socket a frame, `deliver_text` one already made into text; `closed` is called
        when staff close the tavern."""
        tavern = await db_async(tavern_enter, priority=URGENT)(name=name, client=client)
        room = cls(tavern=tavern, game_id=game_id, layer=layer, deliver=deliver, deliver_text=deliver_text, closed=closed)
        await room._aenter(location)
        return room

    async def _aenter(self, location: str) -> None:
        arrival = await db_async(patron_arrive, priority=URGENT)(tavern=self.tavern, game_id=self.game_id, location=location)
        self.name, self.location, self.players = arrival.name, location, list(arrival.present)
        await self._agroups(hear=(tavern_group(self.tavern.id), self._group()))
        if arrival.first:
            await self._abroadcast(self._group(), {"type": "room.join", "name": self.name})

    async def aleave(self) -> None:
        """The socket closes: the room hears the game left when it was its last socket."""
        try:
            gone = await db_async(patron_depart, priority=URGENT)(tavern_id=self.tavern.id, game_id=self.game_id)
        except Exception:
            logger.warning("a patron's departure from tavern %s not recorded", self.tavern.id, exc_info=True)
            gone = False
        if gone:
            await self._abroadcast(self._group(), {"type": "room.leave", "name": self.name})
        await self._agroups(unhear=(tavern_group(self.tavern.id), self._group()))

    async def akeep(self) -> None:
        """Now and then: renew the game's presence and the groups (a restarted Redis forgot them),
        and tell the player of anyone who came or went unheard (a server process that died)."""
        present = await db_async(patron_seen, priority=NORMAL)(tavern_id=self.tavern.id, game_id=self.game_id,
                                                                 location=self.location)
        try:
            await self.hub.akeep()
        except Exception as exc:
            logger.debug("channel layer unavailable (%s); the room's groups not renewed", exc)
        for name in [n for n in self.players if n not in present and n != self.name]:
            await self.deliver({"type": "room.leave", "name": name})
        for name in [n for n in present if n not in self.players and n != self.name]:
            await self.deliver({"type": "room.join", "name": name})
        self.players = list(present)

    # --- the state frame ---------------------------------------------------------------------------
    async def astate(self, frame: dict) -> dict:
        """The game's `state` frame for this socket: with who stands here, moving the socket to the
        location the game is now at."""
        slug = (frame.get("location") or {}).get("slug")
        if isinstance(slug, str) and slug and slug != self.location:
            await self._amove(slug)
        return {**frame, "players": list(self.players), "tavern": {"name": self.tavern.name, "you": self.name}}

    async def _amove(self, location: str) -> None:
        async with self._moving:
            if location == self.location:
                return
            old = self.location
            moved, present = await db_async(patron_move, priority=URGENT)(tavern_id=self.tavern.id, game_id=self.game_id,
                                                                           location=location)
            await self._agroups(unhear=(self._group(old),))
            self.location, self.players = location, list(present)
            await self._agroups(hear=(self._group(),))
            if moved:  # once for the game, however many of its sockets saw the move
                await self._abroadcast(self._group(old), {"type": "room.leave", "name": self.name})
                await self._abroadcast(self._group(), {"type": "room.join", "name": self.name})

    # --- frames from the groups --------------------------------------------------------------------
    async def ahear(self, event: dict) -> None:
        """The hub hands this socket what the tavern's groups heard: a frame said where it stands,
        an NPC's line moving, the tavern closing."""
        kind = event.get("type")
        if kind == "room.frame":
            if (text := self.heard(event)) is not None:
                await self.deliver_text(text)
        elif kind == "tavern.queue":
            self.line_moved(str(event.get("npc", "")))
        elif kind == "tavern.closed":
            await self.closed()

    def heard(self, event: dict) -> str | None:
        """A frame said in the room (`room.frame` events): its text to send this socket, or None
        (its own game's words come to it as its own frames). Keeps the players list current."""
        frame, own = event.get("presence") or {}, event.get("game") == self.game_id
        kind, name = frame.get("type"), frame.get("name")
        if kind == "room.rename":
            self.players = sorted({*(p for p in self.players if p != frame.get("from")), name}, key=str.casefold)
            if own:
                self.name = name
        elif own:
            return None
        elif kind == "room.join" and name not in self.players:
            self.players = sorted([*self.players, name], key=str.casefold)
        elif kind == "room.leave":
            self.players = [p for p in self.players if p != name]
        return None if own else event.get("text")

    def line_moved(self, npc: str) -> None:
        """An NPC's line in this tavern moved (`tavern.queue` events): its waiters look again."""
        if (event := self._lines_moved.get(npc)) is not None:
            event.set()

    async def aannounce(self, frame: dict) -> None:
        """What the others standing here see of this player's turn (`room.chat`: words said to the
        room; `room.emote`: a gesture, its text naming the player as "{name}")."""
        text = str(frame.get("text", ""))
        if frame.get("type") == "room.emote":
            text = text.replace("{name}", self.name)
        await self._abroadcast(self._group(), {"type": frame["type"], "name": self.name, "text": text})

    # --- names -------------------------------------------------------------------------------------
    async def arename(self, raw: str, *, reply_to: str | None, send: Send) -> bool:
        """The `name <Name>` command: answers with exactly one final frame; True when renamed."""
        if not raw.strip():
            await send({"type": "narration", "reply_to": reply_to,
                        "text": f"Folk here know you as {self.name}. Say 'name <a name>' to go by another."})
            return False
        try:
            renamed = await db_async(patron_rename, priority=URGENT)(tavern_id=self.tavern.id, game_id=self.game_id, raw=raw)
        except NameRefused as refused:
            await send({"type": "error", "reply_to": reply_to, "code": "not_allowed", "text": refused.text})
            return False
        self.name = renamed.name
        self.players = sorted({*(p for p in self.players if p != renamed.old), renamed.name}, key=str.casefold)
        await send({"type": "narration", "reply_to": reply_to, "text": f"From now on, folk here know you as {renamed.name}."})
        if renamed.old != renamed.name:
            await self._abroadcast(self._group(), {"type": "room.rename", "from": renamed.old, "name": renamed.name})
        return True

    # --- speech ------------------------------------------------------------------------------------
    @asynccontextmanager
    async def aserved(self, plan, send: Send) -> AsyncIterator[Send]:
        """Wait for the NPC's turn to answer `plan` (a say), then give the `send` to answer it with:
        for words said aloud, one that also relays the reply to everyone standing here. The place
        in the NPC's line is given up with the reply's final frame. Raises NpcBusy when the player
        already has a line waiting for this NPC here."""
        wait_id = await db_async(npc_wait_join, priority=NORMAL)(tavern_id=self.tavern.id, npc_slug=plan.npc, game_id=self.game_id)
        if wait_id is None:
            raise NpcBusy(plan.npc)
        group, said = self._group(), (None if plan.private else secrets.token_hex(6))
        released = asyncio.Event()

        async def release() -> None:
            if not released.is_set():
                released.set()
                await db_async(npc_wait_leave, priority=URGENT)(wait_id=wait_id)
                await self._apoke(plan.npc)

        renewing = asyncio.create_task(self._arenew(wait_id))
        try:
            if said is not None:
                await self._abroadcast(group, {"type": "room.say", "said": said, "name": self.name, "npc": plan.npc,
                                               "npc_name": plan.npc_name, "text": plan.line})
            await self._await_turn(plan, wait_id, send)
            relay = self._relay(plan, send, said=said, group=group, release=release)
            try:
                yield relay
            finally:
                relay.close()
        finally:
            renewing.cancel()
            await auncancelled(release())

    async def _await_turn(self, plan, wait_id: int, send: Send) -> None:
        voices = max(1, int(settings.TANKARD_TAVERN["NPC_VOICES"]))
        moved = self._lines_moved.setdefault(plan.npc, asyncio.Event())
        told = False
        while True:
            moved.clear()
            ahead = await db_async(npc_wait_ahead, priority=NORMAL)(wait_id=wait_id, tavern_id=self.tavern.id, npc_slug=plan.npc)
            if ahead is None or ahead < voices:  # None: the line is gone (the tavern closed): nothing to wait for
                return
            if not told:
                told = True
                await send({"type": "npc.thinking", "reply_to": plan.client_id, "npc": plan.npc,
                            "text": queued_line(plan.npc_name, ahead - voices + 1)})
            try:
                await asyncio.wait_for(moved.wait(), QUEUE_POLL_SECONDS)
            except TimeoutError:
                pass

    async def _arenew(self, wait_id: int) -> None:
        """Keep the place in the line while it waits and while the NPC answers (a process that dies
        stops renewing, and its place lapses)."""
        every = max(1.0, settings.TANKARD_TAVERN["WAIT_LEASE_SECONDS"] / 3)
        while True:
            await asyncio.sleep(every)
            try:
                await db_async(npc_wait_renew, priority=NORMAL)(wait_id=wait_id)
            except Exception:
                logger.warning("a place in an NPC's line not renewed", exc_info=True)

    def _relay(self, plan, send: Send, *, said: str | None, group: str, release: Callable[[], Awaitable[None]]) -> Relay:
        return Relay(self, plan, send, said=said, group=group, release=release)

    # --- the channel layer -------------------------------------------------------------------------
    def _group(self, location: str | None = None) -> str:
        return room_group(self.tavern.id, self.location if location is None else location)

    async def _abroadcast(self, group: str, frame: dict) -> None:
        """Send `frame` to everyone at `group`'s location, as text made once for all of them."""
        event = {"type": "room.frame", "group": group, "text": frame_text(frame), "game": self.game_id}
        if frame["type"] in PRESENCE:
            event["presence"] = frame
        try:
            await self.layer.group_send(group, event)
        except Exception:  # the room misses a line; the speaker's own reply goes on
            logger.warning("channel layer unavailable; %s not heard in the room", frame.get("type"), exc_info=True)

    async def _apoke(self, npc: str) -> None:
        self.line_moved(npc)
        group = tavern_group(self.tavern.id)
        try:
            await self.layer.group_send(group, {"type": "tavern.queue", "group": group, "npc": npc})
        except Exception:  # the waiters look again on their own soon
            logger.warning("channel layer unavailable; an NPC's line moved unannounced", exc_info=True)

    async def _agroups(self, *, hear: tuple[str, ...] = (), unhear: tuple[str, ...] = ()) -> None:
        """Start or stop hearing groups, through the process's hub."""
        try:
            for group in unhear:
                await self.hub.aleave(group, self)
            for group in hear:
                await self.hub.ajoin(group, self)
        except Exception as exc:  # a channel layer outage must not keep the player out
            logger.warning("channel layer unavailable (%s); the room is not heard", exc)


class Relay:
    """The `send` a reply is answered with in a shared tavern: each frame goes to the speaker and,
    for words said aloud, its room copy (`room.npc.*`) to the room's echo; the final frame gives up
    the place in the NPC's line."""

    def __init__(self, room: Room, plan, send: Send, *, said: str | None, group: str,
                 release: Callable[[], Awaitable[None]]) -> None:
        self.room, self.plan, self.send, self.said, self.group, self.release = room, plan, send, said, group, release
        self.echo: RoomEcho | None = None
        self.streamed: list[str] = []

    async def __call__(self, out: dict) -> None:
        await self.send(out)
        kind, plan = out.get("type"), self.plan
        final = kind in SAID_FINALS and out.get("reply_to") == plan.client_id
        if self.said is not None:
            if kind == "npc.start" and self.echo is None:
                self.echo = RoomEcho(self.room, self.group)
                self.echo.put({"type": "room.npc.start", "said": self.said, "npc": plan.npc, "name": plan.npc_name,
                               "to": self.room.name})
            elif kind == "npc.token" and self.echo is not None:
                self.streamed.append(str(out.get("text", "")))
                self.echo.put({"type": "room.npc.token", "said": self.said, "npc": plan.npc, "text": out.get("text", "")})
            elif final and kind == "npc.end":
                self._end(out.get("text", ""), out.get("source", "fallback"))
            elif final:
                self.close()
        if final:
            await self.release()

    def close(self) -> None:
        """The reply ended without its `npc.end` (an error, the speaker gone): the room hears it end
        where it stopped."""
        self._end("".join(self.streamed).strip(), "fallback")

    def _end(self, text: str, source: str) -> None:
        if self.echo is not None and not self.echo.ended:
            self.echo.put({"type": "room.npc.end", "said": self.said, "npc": self.plan.npc, "text": text, "source": source})


class RoomEcho:
    """The room's copy of one reply said aloud, sent in order by a task of its own, so the speaker's
    reply never waits on the channel layer. Tokens that queue up while a send is under way (a busy
    Redis) go on as one `room.npc.token` with their words joined: the room falls behind by no more
    than one send, and a slow layer gets fewer, not more, messages. The last frame (`room.npc.end`)
    is sent even if the speaker leaves meanwhile."""

    def __init__(self, room: Room, group: str) -> None:
        self.room, self.group = room, group
        self.waiting: list[dict] = []
        self.woken = asyncio.Event()
        self.ended = False
        task = asyncio.create_task(self._asend())
        _echoing.add(task)  # held until done: the loop keeps only weak references to tasks
        task.add_done_callback(_echoing.discard)

    def put(self, frame: dict) -> None:
        self.ended = self.ended or frame["type"] == "room.npc.end"
        self.waiting.append(frame)
        self.woken.set()

    async def _asend(self) -> None:
        while True:
            await self.woken.wait()
            self.woken.clear()
            frames, self.waiting = self.waiting, []
            for frame in joined_tokens(frames):
                await self.room._abroadcast(self.group, frame)
                if frame["type"] == "room.npc.end":
                    return


_echoing: set[asyncio.Task] = set()


def joined_tokens(frames: list[dict]) -> list[dict]:
    """`frames` with each run of `room.npc.token` frames made one, its words joined."""
    out: list[dict] = []
    for frame in frames:
        if frame["type"] == "room.npc.token" and out and out[-1]["type"] == "room.npc.token":
            out[-1] = {**out[-1], "text": out[-1]["text"] + frame["text"]}
        else:
            out.append(frame)
    return out


def queued_line(npc_name: str, ahead: int) -> str:
    """What a busy NPC calls out to a player waiting their turn: the NPC addressing the room."""
    first = npc_name.split()[0]
    turn = "You're next." if ahead <= 1 else f"{ahead} ahead of you, then you."
    return f'{first} raises a hand over the din: "One at a time, friends! {turn}"'
