"""Writes of gameplay: creating and resuming games, and playing turns.

A turn loads the game's state, applies a rule in memory and saves everything in one transaction:
state, snapshot, NPC states and the turn log. It runs a fixed number of queries whatever the size of
the world or the game. The state's version guards against two tabs playing the same game at once.

- `plans.py`: what a turn hands back (results, say and narrate plans, plain values) and its errors.
- `store.py`: a game loaded and saved within a turn: snapshots, replays, NPC states, retries.
- `games.py`: games created, found for a session, changed or read from outside play.
- `turns.py`: commands, speech and narration played as turns.
"""
from .games import (
    game_create,
    game_exists,
    game_for_session,
    game_grant,
    game_meet,
    game_state_frame,
    opening_say_plans,
)
from .plans import GameNotFound, NarratePlan, SayPlan, TurnConflict, TurnResult
from .store import MINDS_REMEMBERED, RESTORED_TEXT, SNAPSHOTS_KEPT, TURN_ATTEMPTS
from .turns import NARRATABLE_MIN_WORDS, narration_commit, say_commit, say_plan_inspect, say_prepare, turn_command

__all__ = [
    "MINDS_REMEMBERED", "NARRATABLE_MIN_WORDS", "RESTORED_TEXT", "SNAPSHOTS_KEPT", "TURN_ATTEMPTS",
    "GameNotFound", "NarratePlan", "SayPlan", "TurnConflict", "TurnResult",
    "game_create", "game_exists", "game_for_session", "game_grant", "game_meet", "game_state_frame",
    "narration_commit", "opening_say_plans", "say_commit", "say_plan_inspect", "say_prepare", "turn_command",
]
