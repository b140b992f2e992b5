"""The whisper leak scenario, played by the in-process test (test_tavern_leak.py) and by the one over
two daphne processes on Redis (tests/scale/test_tavern_scale_out.py): many players in one shared
tavern each say something aloud, whisper a secret of their own, then speak aloud again; the model
blurts out every secret its prompt holds. Then every frame each player received, and every prompt
the model was given, is searched for the others' secrets.

A player is anything with `async send(frame)`, a list `frames` of what it received so far, and
`async until(match)` (wait for a received frame that matches)."""
from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import threading
from dataclasses import dataclass, field

from tests.llm.fake_openai import Reply

SECRET = re.compile(r"\b77\d{10}\b")  # digits: the reply checks read no words in them, nothing else in a prompt looks so
NPCS = ("gareth", "wren")
# Short (a reply that recites eight words of its prompt in a row is stopped by the leak guard, and
# what an NPC said aloud before is in the room's memory, in later prompts).
OPENERS = ("Aye, I hear you.", "Well now, there's a thought.", "Let me think on that.", "Fair enough, friend.",
           "You have a way with words.", "That's a question and a half.", "I've heard stranger tonight.",
           "Now that's worth a thought.")


def secret_for(index: int) -> str:
    return f"77{index:02d}{random.randrange(10**8):08d}"


def marker(index: int) -> str:
    """What player `index` says aloud begins with this, so that a prompt is known by its line."""
    return f"P{index}:"


class BlurtingModel:
    """A model that tells every secret anywhere in its prompt: whatever a prompt held shows up in
    the reply, and so in the frames. Each reply opens differently (the reply checks refuse an NPC
    repeating itself). `padding`: that many more short sentences first, for a longer reply."""

    def __init__(self, *, tokens_per_second: float = 400, padding: int = 0) -> None:
        self.tokens_per_second, self.padding = tokens_per_second, padding
        self._openers = itertools.cycle(range(len(OPENERS)))
        self._lock = threading.Lock()

    def __call__(self, body: dict) -> Reply:
        everything = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
        with self._lock:
            first = next(self._openers)
        sentences = [OPENERS[(first + i) % len(OPENERS)] for i in range(1 + self.padding)]
        sentences += [f"You told me of {secret}." for secret in sorted(set(SECRET.findall(everything)))]
        return Reply(" ".join(sentences), tokens_per_second=self.tokens_per_second)


@dataclass
class Leaks:
    in_frames: list[str] = field(default_factory=list)  # "player 3 received player 7's secret in a room.npc.token"
    in_prompts: list[str] = field(default_factory=list)
    in_public_prompts: list[str] = field(default_factory=list)  # the speaker's own whisper in a prompt for words said aloud
    own_secrets_heard: int = 0  # how many whisperers got their own secret back (the scenario worked)
    room_heard_in_prompts: int = 0  # prompts holding another player's public words (the room's memory worked)

    @property
    def found(self) -> int:
        return len(self.in_frames) + len(self.in_prompts) + len(self.in_public_prompts)


async def play_scenario(players: list, secrets: list[str], *, timeout: float = 120) -> None:
    """Aloud, whisper, aloud again: each step by every player at once, then wait for every answer.
    Odd players whisper with the `whisper` command, even ones with a private say."""
    async def step(kind: str) -> None:
        for i, player in enumerate(players):
            npc = NPCS[i % len(NPCS)]
            if kind == "aloud":
                frame = {"type": "say", "id": f"{kind}-{i}", "npc": npc, "text": f"{marker(i)} what news tonight?"}
            elif kind == "again":
                frame = {"type": "say", "id": f"{kind}-{i}", "npc": npc, "text": f"{marker(i)} what do you know of me?"}
            elif i % 2:
                frame = {"type": "command", "id": f"{kind}-{i}", "text": f"whisper {npc} keep this close: {secrets[i]}"}
            else:
                frame = {"type": "say", "id": f"{kind}-{i}", "npc": npc, "text": f"keep this close: {secrets[i]}", "private": True}
            await player.send(frame)
        await asyncio.wait_for(asyncio.gather(*(
            player.until(lambda f, i=i: f.get("reply_to") == f"{kind}-{i}" and f["type"] in ("npc.end", "error", "narration"))
            for i, player in enumerate(players))), timeout)

    for kind in ("aloud", "whisper", "again"):
        await step(kind)


def leaks_found(players: list, secrets: list[str], prompts: list[dict]) -> Leaks:
    leaks = Leaks()
    for j, player in enumerate(players):
        for frame in player.frames:
            text = json.dumps(frame, ensure_ascii=False)
            for i, secret in enumerate(secrets):
                if i != j and secret in text:
                    leaks.in_frames.append(f"player {j} received player {i}'s secret in a {frame.get('type')} frame")
        leaks.own_secrets_heard += any(secrets[j] in json.dumps(f) for f in player.frames if f.get("reply_to") == f"whisper-{j}")
    for body in prompts:
        said = next((str(m.get("content", "")) for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
        everything = json.dumps(body, ensure_ascii=False)
        owner = next((i for i, s in enumerate(secrets) if s in said or said.startswith(marker(i) + " ")), None)
        if owner is None:
            continue  # not an NPC's reply to one of these players (a summary, a rating): mentions no secret below
        aloud = said.startswith(marker(owner) + " ")
        for i, secret in enumerate(secrets):
            if secret not in everything:
                continue
            if i != owner:
                leaks.in_prompts.append(f"a prompt for player {owner} held player {i}'s secret")
            elif aloud:
                leaks.in_public_prompts.append(f"a prompt for player {owner}'s words aloud held their own whisper")
        leaks.room_heard_in_prompts += any(marker(i) + " " in everything for i in range(len(secrets)) if i != owner)
    for body in prompts:  # prompts made for nobody in particular must hold no secret either
        said = next((str(m.get("content", "")) for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
        if not any(s in said or said.startswith(marker(i) + " ") for i, s in enumerate(secrets)):
            leaks.in_prompts += [f"a background prompt held player {i}'s secret" for i, s in enumerate(secrets)
                                 if s in json.dumps(body, ensure_ascii=False)]
    return leaks
