"""The harder reply cache set (bench/data/reply_cache_hard.json) for bench/reply_cache.py, end to end.

Each part ("tune", "held_out") runs on an emptied cache. Every line is said by a new game moved to a
moment when its NPC is about (the same place and hour for all of one NPC's lines, so they share one
context). A cluster's seed is said first, as that game's first line to the NPC: the model answers
and the reply is kept. Then each line is said; a line with prior turns ("after"/"before") has them
put in its game's memory of that NPC first, exactly as play records an exchange, so its prompt holds
the conversation. A line is a hit when it is answered with its own cluster's seed reply, and a
false hit when answered with any other (every reply served to a negative is a false hit). Lines
never add to the cache here: a reply kept for a missed line is removed again, so each line is
measured against the seeds alone, in any order.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

HARD = Path(__file__).resolve().parent / "data" / "reply_cache_hard.json"
# Where and when each NPC is about: (day, hour, location), from gameplay/world/tavern.json.
MOMENTS = {
    "gareth": (0, 8, "common-room"), "wren": (0, 8, "common-room"), "magda": (0, 8, "kitchen"),
    "tobias": (0, 19, "common-room"), "amos": (0, 11, "common-room"), "varr": (0, 12, "common-room"),
    "quince": (2, 13, "common-room"), "vesna": (1, 17, "gambling-den"),
}


@dataclass
class PartTally:
    lines: int = 0
    hits: int = 0
    later_lines: int = 0
    later_hits: int = 0
    negatives: int = 0
    false: list = field(default_factory=list)
    misses: list = field(default_factory=list)
    cached_ms: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"lines": self.lines, "hits": self.hits, "later_lines": self.later_lines, "later_hits": self.later_hits,
                "negatives": self.negatives, "false": self.false, "misses": self.misses, "cached_ms": self.cached_ms}


def _player_at(npc: str) -> tuple[str, str]:
    from django.contrib.sessions.backends.db import SessionStore

    from gameplay import services
    from gameplay.models import Game
    from gameplay.rules.state import state_checksum

    game = services.game_create(session_key="bench-hard")
    day, hour, location = MOMENTS[npc]
    data = dict(game.state, minute=day * 24 * 60 + hour * 60, location=location)
    Game.objects.filter(pk=game.pk).update(state=data, checksum=state_checksum(data))
    session = SessionStore()
    session["game_id"] = str(game.id)
    session.create()
    return str(game.id), f"sessionid={session.session_key}"


def _remember(game_id: str, npc: str, turns: list) -> None:
    """Prior turns, recorded as play records an exchange (player line, then the NPC's reply)."""
    from memory.services import memory_record_exchange

    day, hour, _ = MOMENTS[npc]
    for i in range(0, len(turns), 2):
        player, reply = turns[i][1], turns[i + 1][1] if i + 1 < len(turns) else ""
        memory_record_exchange(game_id=game_id, npc_slug=npc, player_line=player, npc_reply=reply,
                               game_minute=day * 24 * 60 + hour * 60)


def _served_entry() -> int | None:
    from llm.models import ReplyServe

    serve = ReplyServe.objects.order_by("-id").first()
    return serve.entry_id if serve else None


def forget_all_but(kept: set[int]) -> None:
    """Remove entries kept for lines that missed (from the database and this process's fast levels)."""
    from django.core.cache import cache

    from llm.models import ReplyCacheEntry
    from llm.reply_cache import levels
    from llm.reply_cache.keys import entry_key

    for entry in ReplyCacheEntry.objects.exclude(id__in=kept):
        key = entry_key(npc_id=entry.npc_id, persona_version=entry.persona_version, persona_digest=entry.persona_digest,
                        context=entry.context, question=entry.question)
        gen = levels.generation(entry.npc_id)
        levels.memory.pop((gen, key))
        cache.delete(levels._shared_key(gen, key))
        entry.delete()


async def run_part(ask, part: str) -> PartTally:
    """`ask(cookie, line, npc)` -> (npc.end frame, seconds): one say over the websocket."""
    from channels.db import database_sync_to_async as db

    from llm.reply_cache import reply_cache_purge
    from npcs.models import Npc

    data = json.loads(HARD.read_text())
    histories, chosen = data["histories"], data["parts"][part]
    await db(lambda: [reply_cache_purge(npc_id=pk) for pk in Npc.objects.values_list("pk", flat=True)])()
    owner: dict[int, str] = {}
    for cluster in chosen["clusters"]:
        _, cookie = await db(_player_at)(cluster["npc"])
        await ask(cookie, cluster["seed"], cluster["npc"])
        entry = await db(_served_entry)()
        if entry is not None:
            owner[entry] = cluster["id"]
    tally = PartTally()
    for cluster in chosen["clusters"]:
        for item in cluster["lines"]:
            await _one(ask, tally, histories, owner, cluster["npc"], item, expected=cluster["id"])
    for item in chosen["negatives"]:
        await _one(ask, tally, histories, owner, item["npc"], item, expected=None)
    return tally


async def _one(ask, tally: PartTally, histories: dict, owner: dict, npc: str, item, *, expected: str | None) -> None:
    from channels.db import database_sync_to_async as db

    line = item if isinstance(item, str) else item["line"]
    turns = [] if isinstance(item, str) else (histories[item["after"]] if "after" in item else item.get("before", []))
    game_id, cookie = await db(_player_at)(npc)
    if turns:
        await db(_remember)(game_id, npc, turns)
    end, elapsed = await ask(cookie, line, npc)
    served = end.get("source") in {"cache", "pregen"}
    entry = await db(_served_entry)() if served else None
    if expected is None:
        tally.negatives += 1
    else:
        tally.lines += 1
        tally.later_lines += bool(turns)
    if served:
        tally.cached_ms.append(elapsed * 1000)
        if expected is not None and owner.get(entry) == expected:
            tally.hits += 1
            tally.later_hits += bool(turns)
        else:
            tally.false.append((npc, line, owner.get(entry, "an entry of no seed")))
    elif expected is not None:
        tally.misses.append((npc, line))
    await db(forget_all_but)(set(owner))
