"""Who remembers what, so that private words stay private at the source: every NPC memory belongs
to an owner (a plain UUID in `memory/`), and a prompt recalls only the owners its plan names.

- A player's public words (and all words in a private tavern) belong to their game.
- Their whispers belong to the game's whisper owner: recalled only into prompts for that player's
  own whispers, so neither another player's prompt nor a public reply (heard by the whole room)
  can draw on them.
- What an NPC hears said aloud in a shared tavern also belongs to the room (the tavern's memory):
  recalled into the prompts of everyone there. Whispers are never recorded there.
"""
from __future__ import annotations

import uuid

from memory.services import memory_record_observation

_WHISPERS = uuid.UUID("5b7e0c52-3f0c-4a39-9d1e-77a1c0b7d0a1")
_ROOMS = uuid.UUID("0e3f5a4c-8d1b-4c2e-a8f0-2b9d6c1e7f30")
HEARD_LINE_CHARS = 300


def whisper_memory_id(game_id: str) -> str:
    """The owner of a game's whispers: derived from the game, stored nowhere else."""
    return str(uuid.uuid5(_WHISPERS, str(game_id)))


def room_memory_id(tavern_id: int) -> str:
    """The owner of what a shared tavern's NPCs heard said aloud."""
    return str(uuid.uuid5(_ROOMS, f"tavern:{tavern_id}"))


def room_heard_record(*, tavern_id: int, npc_slug: str, npc_name: str, speaker: str, line: str, reply: str,
                      game_minute: int) -> bool:
    """Remember, for the whole room, a public exchange: who said what aloud and what the NPC
    answered. True when the record waits for its embedding (`embed_soon` on the room's owner)."""
    said, answered = line.strip()[:HEARD_LINE_CHARS], reply.strip()[:HEARD_LINE_CHARS]
    text = f'{speaker} said aloud to {npc_name}: "{said}" {npc_name.split()[0]} answered: "{answered}"'
    return memory_record_observation(game_id=room_memory_id(tavern_id), npc_slug=npc_slug, text=text,
                                     game_minute=game_minute, embed_now=False)
