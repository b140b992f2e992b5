"""What a cached reply is keyed by, as plain values: the NPC (id, persona version and a hash of the
persona text), the context fingerprint (mood, relationship tier, part of the day and every fact of
the prompt's situation), and the question the line asks. Two asks share a reply only when all of it
is equal."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from llm.prompts import Situation

from .asked import Asked
from .signature import Aliases
from .slots import PLAYER

# Situation fields left out of the fingerprint, because slots carry them (time_label: the part of
# the day is keyed, the bell, day and season words are slots) or because they are the player's.
UNKEYED_FIELDS = frozenset({"time_label", "player_name"})
PLACEHOLDER_NAME = "Traveller"


@dataclass(frozen=True)
class ReplyCacheRequest:
    """One player's line to one NPC, with everything its reply may depend on."""

    npc_id: int
    npc: str  # slug
    npc_name: str
    persona_version: int
    persona_digest: str  # persona_digest() of the persona values the prompt carries
    line: str
    situation: Situation
    part: str  # morning, afternoon, evening, night
    day: int
    time_words: tuple[tuple[str, str], ...] = ()  # ("bell", "third bell of morning"), ("day_name", "Moonday") ...
    others: tuple[str, ...] = ()  # name words of the other NPCs: a line naming them is its own question
    aliases: Aliases = Aliases()  # the world's names for its people, places and things (one concept each)
    asked: Asked = Asked()  # the questions players put to this NPC, with their phrasings
    game_id: str = ""
    client_id: str | None = None
    private: bool = False  # a whisper: never matched, looked up, shared in flight, kept or counted

    @property
    def names(self) -> tuple[str, ...]:
        """How a player may address this NPC."""
        return (self.npc_name, *self.npc_name.split())

    def slot_values(self) -> dict[str, str]:
        values = dict(self.time_words)
        if self.situation.player_name:
            values[PLAYER] = self.situation.player_name
        return values


def context_of(situation: Situation, *, part: str, day: int) -> str:
    """The fingerprint of what a reply may draw on besides the persona: 40 hex characters."""
    facts = {name: value for name, value in dataclasses.asdict(situation).items() if name not in UNKEYED_FIELDS}
    keyed = {"part": part, "facts": facts, "named": bool(situation.player_name)}
    if situation.rumours:  # today's rumours: the reply holds for this day only
        keyed["day"] = day
    return hashlib.sha1(json.dumps(keyed, sort_keys=True, default=list).encode()).hexdigest()


def persona_digest(values: Mapping[str, object]) -> str:
    """A short hash of an NPC's persona values: an edit that bypassed the persona version (a
    content reload, the shell) still stops the old replies from matching."""
    return hashlib.sha1(json.dumps(dict(values), sort_keys=True, default=list).encode()).hexdigest()[:16]


def entry_key(*, npc_id: int, persona_version: int, persona_digest: str, context: str, question: str) -> str:
    return f"{npc_id}:{persona_version}.{persona_digest}:{context}:{question}"


def entry_key_parts(key: str) -> dict:
    """The model fields of an entry key (the inverse of `entry_key`)."""
    npc_id, persona, context, question = key.split(":", 3)
    version, digest = persona.split(".", 1)
    return {"npc_id": int(npc_id), "persona_version": int(version), "persona_digest": digest, "context": context,
            "question": question}


def situation_to_json(situation: Situation) -> dict:
    """The situation as stored for pre-generation: the player's name replaced by a placeholder."""
    data = dataclasses.asdict(situation)
    data["player_name"] = PLACEHOLDER_NAME if situation.player_name else None
    return data


def situation_from_json(data: dict) -> Situation:
    fields = {f.name for f in dataclasses.fields(Situation)}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in fields}
    return Situation(**values)
