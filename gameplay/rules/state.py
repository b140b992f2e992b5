"""A game's mutable state as one versioned JSON document, with a checksum to detect corruption."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields

MAX_RUMOURS_HEARD = 50


@dataclass
class GameState:
    minute: int
    location: str
    gold: int
    tiredness: int = 0
    hunger: int = 0
    inventory: dict[str, int] = field(default_factory=dict)
    chest: dict[str, int] = field(default_factory=dict)
    chest_gold: int = 0
    room_until: int | None = None
    bounties: dict[str, int] = field(default_factory=dict)  # accepted bounty slug -> objectives done
    completed_bounties: list[str] = field(default_factory=list)
    clues: list[str] = field(default_factory=list)
    mystery_solved: bool = False
    mystery_noticed: bool = False
    rumours_heard: list[str] = field(default_factory=list)
    player_name: str | None = None
    turns: int = 0

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> GameState:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    # Inventory helpers keep counts positive and tidy.
    def add_item(self, slug: str, qty: int = 1, *, to_chest: bool = False) -> None:
        bag = self.chest if to_chest else self.inventory
        bag[slug] = bag.get(slug, 0) + qty

    def take_item(self, slug: str, qty: int = 1, *, from_chest: bool = False) -> bool:
        bag = self.chest if from_chest else self.inventory
        have = bag.get(slug, 0)
        if have < qty:
            return False
        if have == qty:
            del bag[slug]
        else:
            bag[slug] = have - qty
        return True

    def hear_rumour(self, slug: str) -> None:
        if slug not in self.rumours_heard:
            self.rumours_heard.append(slug)
            del self.rumours_heard[:-MAX_RUMOURS_HEARD]


def state_checksum(data: dict) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def state_from_saved(data: object, checksum: str) -> GameState | None:
    """The state saved as `data`, or None when it fails its checksum or does not make a state."""
    if not isinstance(data, dict):
        return None
    try:
        if state_checksum(data) != checksum:
            return None
        state = GameState.from_json(data)
    except (TypeError, ValueError):
        return None
    valid = isinstance(state.minute, int) and isinstance(state.gold, int) and isinstance(state.location, str)
    return state if valid else None

