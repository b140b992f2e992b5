"""Going from room to room."""
from __future__ import annotations

import re

from .context import Refusal, TurnContext
from .info import describe_here
from .lookup import find_feature, find_location
from .parser import Intent

MINUTES_TO_WALK = 3
# Ways without a place: down and out lead back to the common room; up, through a room's one door, or upstairs.
DOWN = frozenset({"back", "out", "down", "downstairs", "back downstairs", "inside", "back inside", "indoors", "back in"})
UP = frozenset({"up", "back up"})


def handle_go(ctx: TurnContext, intent: Intent) -> None:
    here = ctx.world.locations[ctx.state.location]
    if intent.target in DOWN:
        target = ctx.world.locations.get(ctx.world.config.start_location)
    elif intent.target in UP and len(here.exits) == 1:  # "go up" from the cellar: its one door
        target = ctx.world.locations.get(here.exits[0])
    else:
        target = find_location(ctx.world, "upstairs" if intent.target in UP else intent.target)
    if target is None:  # "climb onto the bar" is no way anywhere: the narrator may tell it (code unknown_command)
        thing = find_feature(here, re.sub(r"^(?:onto|on to|on|over|under|behind|into|up on|atop)\s+", "", intent.target))
        raise Refusal(f"You don't know the way to any such place. From here you can go to {_exits_named(ctx, here)}.",
                      code="unknown_command" if thing is not None else "not_allowed")
    if target.slug == here.slug:
        raise Refusal(f"You're already in {target.name}.")
    path = [target.slug] if target.slug in here.exits else _path(ctx, here.slug, target.slug)
    if path is None:
        raise Refusal(f"No way leads to {target.name} from here. From here you can go to {_exits_named(ctx, here)}.")
    if any(ctx.world.locations[step].private for step in path) and not ctx.has_room:
        raise Refusal("The door is locked. Gareth rents rooms at the bar, if you want one ('rent a room').")
    for step in path:  # a room further on is walked to, through the rooms between ("go to my room")
        ctx.state.location = step
        ctx.advance(MINUTES_TO_WALK)
    if len(path) > 1:
        ctx.say(f"You go through {', '.join(ctx.world.locations[step].name for step in path[:-1])}.")
    ctx.say(describe_here(ctx))


def _exits_named(ctx: TurnContext, here) -> str:
    return ", ".join(ctx.world.locations[e].name for e in here.exits if e in ctx.world.locations)


def _path(ctx: TurnContext, start: str, goal: str) -> list[str] | None:
    """The rooms walked through to `goal` (itself last) by the fewest doors, or None when no way
    leads there."""
    came_from: dict[str, str] = {start: start}
    frontier = [start]
    while frontier:
        following = []
        for slug in frontier:
            for step in ctx.world.locations[slug].exits:
                if step in ctx.world.locations and step not in came_from:
                    came_from[step] = slug
                    following.append(step)
        frontier = following
    if goal not in came_from:
        return None
    path = [goal]
    while came_from[path[-1]] != start:
        path.append(came_from[path[-1]])
    return path[::-1]
