"""What a rule works on during one turn: the world, the game's state, its NPCs' minds, a seeded
random source, and the lines of narration the turn produces."""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from npcs.persona import NpcDef, npc_location_at, relationship_bounded, relationship_tier

from ..world import World
from . import clock
from .state import GameState

TIREDNESS_PER_HOUR = 5
HUNGER_PER_HOUR = 4


class Refusal(Exception):
    """A rule says no: nothing of the turn is applied; `text` is said in the world."""

    def __init__(self, text: str, code: str = "not_allowed") -> None:
        super().__init__(text)
        self.text = text
        self.code = code


@dataclass
class NpcMind:
    mood: str
    relationship: int
    flags: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SayRequest:
    """A command that turned out to be speech to an NPC (`ask gareth about the cellar`); `private`
    for a whisper (`whisper gareth ...`)."""

    npc: str
    text: str
    private: bool = False


@dataclass(frozen=True)
class SharedWorld:
    """The shared tavern a turn is played in: what is claimed there (key -> the patron who claimed
    it) and the name this player goes by there. Claims a turn makes are stored with it, and the
    first claim of a key wins (gameplay.services, on the unique `TavernClaim`)."""

    tavern_id: int
    patron: str
    claimed: dict[str, str] = field(default_factory=dict)
    others: dict[str, tuple[str, ...]] = field(default_factory=dict)  # location -> the other players standing there


@dataclass
class TurnContext:
    world: World
    state: GameState
    minds: dict[str, NpcMind]
    rng: random.Random
    lines: list[str] = field(default_factory=list)
    changed_minds: set[str] = field(default_factory=set)
    changed: bool = False
    say_request: SayRequest | None = None
    shared: SharedWorld | None = None
    claims: list[str] = field(default_factory=list)
    # What the other players standing here see of this turn, in a shared tavern (nothing in a private
    # one): a frame still without its `name`, {"type": "room.chat", "text": the words said to the
    # room} or {"type": "room.emote", "text": "{name} waves to Wren Abney."}.
    aloud: dict | None = None

    def say(self, text: str) -> None:
        if text:
            self.lines.append(text)

    # --- a shared tavern's world --------------------------------------------------------------
    def claimed_by(self, key: str) -> str | None:
        """Who claimed `key` in this shared tavern (None in a private one, or when nobody has)."""
        return self.shared.claimed.get(key) if self.shared is not None else None

    def claim(self, key: str) -> None:
        """Claim `key` for this player in the shared tavern, with the turn (nothing in a private one)."""
        if self.shared is not None:
            self.claims.append(key)

    # --- NPCs -------------------------------------------------------------------------------
    def npc_location(self, npc: NpcDef) -> str | None:
        return npc_location_at(npc, day=clock.day_of(self.state.minute), hour=clock.hour_of(self.state.minute))

    def present_npcs(self) -> list[NpcDef]:
        return [n for n in self.world.npcs.values() if self.npc_location(n) == self.state.location]

    def present_patrons(self) -> tuple[str, ...]:
        """The other players standing here, in a shared tavern, by the names they go by."""
        return self.shared.others.get(self.state.location, ()) if self.shared is not None else ()

    def mind(self, slug: str) -> NpcMind:
        if slug not in self.minds:
            npc = self.world.npcs[slug]
            self.minds[slug] = NpcMind(mood=npc.initial_mood, relationship=0)
        return self.minds[slug]

    def tier(self, slug: str) -> str:
        return relationship_tier(self.mind(slug).relationship)

    def adjust_relationship(self, slug: str, delta: int) -> None:
        if slug not in self.world.npcs or delta == 0:
            return
        mind = self.mind(slug)
        before = relationship_tier(mind.relationship)
        mind.relationship = relationship_bounded(mind.relationship + delta)
        self.changed_minds.add(slug)
        after = relationship_tier(mind.relationship)
        if after != before:
            name = self.world.npcs[slug].name
            self.say(f"({name} {tier_news(after)}.)")

    def set_mood(self, slug: str, mood: str) -> None:
        mind = self.mind(slug)
        if mind.mood != mood:
            mind.mood = mood
            self.changed_minds.add(slug)

    # --- time -------------------------------------------------------------------------------
    def advance(self, minutes: int, *, asleep: bool = False) -> None:
        """Move the clock; tiredness and hunger follow; NPCs come and go by their schedules."""
        if minutes <= 0:
            return
        before = {n.slug for n in self.present_npcs()}
        start = self.state.minute
        self.state.minute += minutes
        hours = minutes / 60
        if not asleep:
            self.state.tiredness = min(100, self.state.tiredness + round(hours * TIREDNESS_PER_HOUR))
        self.state.hunger = min(100, self.state.hunger + round(hours * HUNGER_PER_HOUR))
        self._expire_room()
        self.changed = True
        if clock.day_of(start) != clock.day_of(self.state.minute):
            t = clock.time_frame(self.state.minute)
            self.say(f"A new day dawns: {t['day_name']}, in {t['season']}.")
        self._narrate_comings(before)

    def _expire_room(self) -> None:
        if self.state.room_until is not None and self.state.minute >= self.state.room_until:
            self.state.room_until = None
            self.state.take_item("room-key")
            self.say("Your room's rent has run out; the key goes back on its hook behind the bar.")
            if self.state.chest or self.state.chest_gold:
                self.say("What you left in the chest stays locked in it, safe, until you take a room again.")
            if self.world.locations.get(self.state.location) and self.world.locations[self.state.location].private:
                self.state.location = self.world.config.start_location
                self.say("You gather your things and go down to the common room.")

    def _narrate_comings(self, before: set[str]) -> None:
        now = {n.slug for n in self.present_npcs()}
        for slug in sorted(now - before):
            self.say(f"{self.world.npcs[slug].name} comes in.")
        for slug in sorted(before - now):
            self.say(f"{self.world.npcs[slug].name} leaves.")

    @property
    def has_room(self) -> bool:
        return self.state.room_until is not None and self.state.minute < self.state.room_until


def tier_news(tier: str) -> str:
    """How a new tier is told: "is now wary of you", "now counts you as a friend"."""
    if tier in ("wary", "hostile"):  # adjectives, not what one counts someone as
        return f"is now {tier} {'of' if tier == 'wary' else 'towards'} you"
    return f"now counts you as {'an' if tier[0] in 'aeiou' else 'a'} {tier}"
