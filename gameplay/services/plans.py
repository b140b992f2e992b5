"""What the services hand back to the code that plays a turn: its result, and the plans of an NPC's
reply still to be voiced or of a line still to be narrated (plain values, safe to carry into async
code), with the errors a turn can end in."""
from __future__ import annotations

from dataclasses import dataclass

from llm.prompts import Situation

from ..models import Game
from ..rules import bounties
from ..rules.context import TurnContext
from ..rules.situation import situation_for
from ..tavern.memory import room_memory_id, whisper_memory_id


class GameNotFound(Exception):
    pass


class TurnConflict(Exception):
    """The game changed under us (another tab's turn); the turn is tried again."""


@dataclass(frozen=True)
class SayPlan:
    """Everything needed to voice an NPC's reply, as plain values; nothing is applied yet."""

    game_id: str
    client_id: str | None
    npc: str
    npc_name: str
    line: str
    tier: str
    mood: str
    first_meeting: bool
    version: int
    seed: str
    situation: Situation
    minute: int = 0  # the game clock when the line was said (the reply cache keys the part of the day)
    private: bool = False  # a whisper: only this player hears it answered (gameplay/tavern/memory.py)
    tavern_id: int | None = None  # the shared tavern it was said in; None in a private one
    reported: tuple[str, ...] = ()  # the bounties this word with the NPC reports done (their titles)
    tasks: tuple[tuple[str, str, str], ...] = ()  # (title, next step, whose notice: "" its own) of the bounties the player holds

    @property
    def memory_owner(self) -> str:
        """Where the exchange is remembered: the game, or for a whisper the game's whisper owner."""
        return whisper_memory_id(self.game_id) if self.private else self.game_id

    @property
    def memory_also(self) -> tuple[str, ...]:
        """Whose memories the reply's prompt recalls beside the game's: the player's whispers for a
        whisper only, and in a shared tavern what the room heard said aloud."""
        return ((whisper_memory_id(self.game_id),) if self.private else ()) + (
            (room_memory_id(self.tavern_id),) if self.tavern_id is not None else ())


@dataclass(frozen=True)
class NarratePlan:
    """Free text the rules could not place, to be narrated; `fallback` is the in-world answer if not."""

    game_id: str
    client_id: str | None
    line: str
    situation: Situation
    fallback: dict


@dataclass(frozen=True)
class TurnResult:
    final: dict
    state: dict | None = None
    extra: tuple[dict, ...] = ()
    say: SayPlan | None = None
    narrate: NarratePlan | None = None
    replayed: bool = False
    aloud: dict | None = None  # a shared tavern's frame for the others standing here (`room.chat`, `room.emote`), its `name` still to fill


def _say_plan(ctx: TurnContext, game: Game, client_id: str | None, npc_slug: str, line: str, *, private: bool = False) -> SayPlan:
    npc = ctx.world.npcs[npc_slug]
    mind = ctx.mind(npc_slug)
    return SayPlan(
        game_id=str(game.pk), client_id=client_id, npc=npc_slug, npc_name=npc.name, line=line,
        tier=ctx.tier(npc_slug), mood=mind.mood, first_meeting=not mind.flags.get("met"),
        version=game.version, seed=f"{game.pk}:{game.version}:{npc_slug}",
        situation=situation_for(ctx, npc_slug), minute=ctx.state.minute, private=private,
        tavern_id=ctx.shared.tavern_id if ctx.shared is not None else None,
        reported=bounties.reports_due(ctx, npc_slug), tasks=bounties.tasks_for(ctx, npc_slug),
    )
