"""The shared tavern's fan-out on a real (in-memory) channel layer: one membership per process for a
location, however many of its sockets stand there; a reply's room copy in order and whole, its
tokens joined when the layer is slow, and never holding the speaker's reply up."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from gameplay.tavern.hub import RoomHub
from gameplay.tavern.room import Relay, joined_tokens
from tankard_site.channel_layers import SweepingInMemoryChannelLayer

GROUP = "tavern.1.common-room"


class Ear:
    """A listener that keeps what it hears."""

    def __init__(self) -> None:
        self.heard: list[dict] = []
        self.arrived = asyncio.Event()

    async def ahear(self, event: dict) -> None:
        self.heard.append(event)
        self.arrived.set()


class StuckLayer(SweepingInMemoryChannelLayer):
    """The in-memory layer whose group sends wait until `unstick` (a Redis that stalls)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.unstuck = asyncio.Event()

    async def group_send(self, group, message):
        await self.unstuck.wait()
        await super().group_send(group, message)


def test_joined_tokens__runs_of_tokens_become_one_in_order():
    frames = [{"type": "room.npc.start"}, *({"type": "room.npc.token", "text": t} for t in ("Aye", ", ", "friend")),
              {"type": "room.npc.end", "text": "Aye, friend"}]
    assert joined_tokens(frames) == [{"type": "room.npc.start"}, {"type": "room.npc.token", "text": "Aye, friend"},
                                     {"type": "room.npc.end", "text": "Aye, friend"}]


async def test_hub__one_membership_for_all_the_process_sockets_at_a_location():
    layer = SweepingInMemoryChannelLayer()
    hub, ears = RoomHub(layer), [Ear(), Ear(), Ear()]
    for ear in ears:
        await hub.ajoin(GROUP, ear)
    assert list(layer.groups[GROUP]) == [hub.channel]
    await layer.group_send(GROUP, {"type": "room.frame", "group": GROUP, "text": "{}"})
    await asyncio.wait_for(asyncio.gather(*(ear.arrived.wait() for ear in ears)), 5)
    assert all(len(ear.heard) == 1 for ear in ears)

    for ear in ears:
        await hub.aleave(GROUP, ear)
    assert not layer.groups.get(GROUP)  # the last socket gone: the process no longer hears the place


@dataclass(frozen=True)
class Plan:
    client_id: str = "s1"
    npc: str = "gareth"
    npc_name: str = "Gareth Rusk"


class Speaker:
    """The room side a Relay needs: a name, and a broadcast onto the layer."""

    name = "Ann"

    def __init__(self, layer) -> None:
        self.layer = layer

    async def _abroadcast(self, group: str, frame: dict) -> None:
        await self.layer.group_send(group, {"type": "room.frame", "group": group, "frame": frame})


async def test_relay__the_speaker_never_waits_on_a_stalled_layer_and_the_room_then_gets_it_whole_and_in_order():
    layer = StuckLayer()
    ear, hub = Ear(), RoomHub(layer)
    await hub.ajoin(GROUP, ear)
    sent, released = [], []

    async def send(frame: dict) -> None:
        sent.append(frame)

    async def release() -> None:
        released.append(True)

    relay = Relay(Speaker(layer), Plan(), send, said="ab12", group=GROUP, release=release)
    words = [f"word{i} " for i in range(20)]

    async def speak() -> None:
        await relay({"type": "npc.start", "reply_to": "s1", "npc": "gareth", "name": "Gareth Rusk"})
        for word in words:
            await relay({"type": "npc.token", "reply_to": "s1", "npc": "gareth", "text": word})
        await relay({"type": "npc.end", "reply_to": "s1", "npc": "gareth", "text": "".join(words).strip(), "source": "llm"})

    await asyncio.wait_for(speak(), 10)  # the whole reply reaches the speaker while the layer is stuck
    assert len(sent) == 22 and released == [True] and not ear.heard
    layer.unstuck.set()

    while not any(e["frame"]["type"] == "room.npc.end" for e in ear.heard):
        ear.arrived.clear()
        await asyncio.wait_for(ear.arrived.wait(), 10)
    frames = [e["frame"] for e in ear.heard]
    assert [f["type"] for f in frames][0] == "room.npc.start" and frames[-1]["type"] == "room.npc.end"
    tokens = [f for f in frames if f["type"] == "room.npc.token"]
    assert "".join(f["text"] for f in tokens) == "".join(words)  # whole and in order
    assert len(tokens) < len(words)  # joined while a send was under way
    await hub.aleave(GROUP, ear)
