"""Going from room to room."""
from __future__ import annotations

from .context import Refusal, TurnContext
from .info import describe_here
from .lookup import find_location
from .parser import Intent

MINUTES_TO_WALK = 3


def handle_go(ctx: TurnContext, intent: Intent) -> None:
    here = ctx.world.locations[ctx.state.location]
    if intent.target in {"back", "out", "down", "downstairs", "back downstairs"}:
        target = ctx.world.locations.get(ctx.world.config.start_location)
    else:
        target = find_location(ctx.world, intent.target)
    if target is None:
        names = ", ".join(ctx.world.locations[e].name for e in here.exits if e in ctx.world.locations)
        raise Refusal(f"You don't know the way to any such place. From here you can go to {names}.")
    if target.slug == here.slug:
        raise Refusal(f"You're already in {target.name}.")
    if target.slug not in here.exits:
        names = ", ".join(ctx.world.locations[e].name for e in here.exits if e in ctx.world.locations)
        path = _path(ctx, here.slug, target.slug)
        way = f" The way there is through {ctx.world.locations[path[0]].name}." if path else ""
        raise Refusal(f"You can't get to {target.name} from here.{way} From here you can go to {names}.")
    if target.private and not ctx.has_room:
        raise Refusal("The door is locked. Gareth rents rooms at the bar, if you want one ('rent a room').")
    ctx.state.location = target.slug
    ctx.advance(MINUTES_TO_WALK)
    ctx.say(describe_here(ctx))


def _path(ctx: TurnContext, start: str, goal: str) -> list[str] | None:
    """The rooms walked through to `goal` (itself last) by the fewest doors, or None when no way
    leads there: a player is told the first step ("go to my room" from the common room)."""
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
