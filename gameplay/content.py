"""Loading the shipped world content (gameplay/world/tavern.json) into the database.

Upserts by slug: shipped things are reset to the file's version, things an editor added stay.
"""
from __future__ import annotations

import json
from pathlib import Path

from django.db import transaction

from npcs.models import Npc, NpcTopic, ScheduleSlot
from npcs.services import canon_facts_load

from .models import Bounty, BountyObjective, Clue, Feature, Item, Job, Location, Mystery, Rumour, WorldConfig
from .world import world_changed

WORLD_FILE = Path(__file__).resolve().parent / "world" / "tavern.json"


def _days(value) -> str:
    return "all" if value in (None, "all", []) else ",".join(str(int(d)) for d in value)


def _load_npcs(data: list[dict]) -> dict[str, Npc]:
    npcs = {}
    for d in data:
        npc, _ = Npc.objects.update_or_create(slug=d["slug"], defaults={
            "name": d["name"], "role": d["role"], "appearance": d.get("appearance", ""),
            "personality": d.get("personality", ""), "speech_style": d.get("speech_style", ""),
            "knows": d.get("knows", []), "hides": d.get("hides", []), "initial_mood": d.get("initial_mood", "content"),
            "greetings": d.get("greetings", []), "idle_lines": d.get("idle_lines", []),
            "busy_lines": d.get("busy_lines", []), "cutoff_lines": d.get("cutoff_lines", []),
            "voice_examples": d.get("voice_examples", []), "denials": d.get("denials", []),
            "refusals": d.get("refusals", []), "asked": d.get("asked", []), "is_active": True,
        })
        npc.topics.all().delete()
        NpcTopic.objects.bulk_create([
            NpcTopic(npc=npc, keywords=", ".join(t["keywords"]), lines="\n".join(t["lines"]), min_tier=t.get("min_tier") or "stranger", order=i)
            for i, t in enumerate(d.get("topics", []))
        ])
        npc.schedule.all().delete()
        ScheduleSlot.objects.bulk_create([
            ScheduleSlot(npc=npc, days=_days(s.get("days")), start_hour=s["from"], end_hour=s["to"], location_slug=s["location"])
            for s in d.get("schedule", [])
        ])
        npcs[npc.slug] = npc
    return npcs


def _load_locations(data: list[dict], start: str) -> dict[str, Location]:
    locations = {}
    for i, d in enumerate(data):
        loc, _ = Location.objects.update_or_create(slug=d["slug"], defaults={
            "name": d["name"], "aliases": d.get("aliases", []), "description": d["description"],
            "private": d.get("private", False), "is_start": d["slug"] == start, "order": i,
        })
        loc.features.all().delete()
        Feature.objects.bulk_create([
            Feature(location=loc, slug=f["slug"], name=f["name"], aliases=f.get("aliases", []), description=f["description"])
            for f in d.get("features", [])
        ])
        locations[loc.slug] = loc
    Location.objects.exclude(slug=start).update(is_start=False)
    for d in data:
        locations[d["slug"]].exits.set([locations[e] for e in d.get("exits", []) if e in locations])
    return locations


def _load_items(data: list[dict], locations, npcs) -> dict[str, Item]:
    items = {}
    for d in data:
        item, _ = Item.objects.update_or_create(slug=d["slug"], defaults={
            "name": d["name"], "aliases": d.get("aliases", []), "kind": d["kind"], "price": d.get("price", 0),
            "seller": npcs.get(d.get("seller") or ""), "description": d.get("description", ""),
            "consumable": d.get("consumable", False), "effects": d.get("effects", {}), "use_text": d.get("use_text", ""),
            "recommended": d.get("recommended", False),
        })
        item.sold_at.set([locations[s] for s in d.get("sold_at", []) if s in locations])
        items[item.slug] = item
    return items


def _load_jobs(data: list[dict], locations, npcs) -> None:
    for d in data:
        Job.objects.update_or_create(slug=d["slug"], defaults={
            "name": d["name"], "aliases": d.get("aliases", []), "description": d.get("description", ""),
            "location": locations[d["location"]], "giver": npcs.get(d.get("giver") or ""), "pay": d["pay"],
            "minutes": d["minutes"], "tiredness": d["tiredness"], "min_tier": d.get("min_tier") or "stranger",
            "work_text": d.get("work_text", ""),
        })


def _load_bounties(data: list[dict], locations, npcs, items) -> None:
    for d in data:
        bounty, _ = Bounty.objects.update_or_create(slug=d["slug"], defaults={
            "title": d["title"], "description": d["description"], "giver": npcs.get(d.get("giver") or ""),
            "min_tier": d.get("min_tier") or "stranger", "reward_gold": d.get("reward_gold", 0),
            "reward_item": items.get(d.get("reward_item") or ""), "reward_relationship": d.get("reward_relationship", 0),
            "complete_text": d.get("complete_text", ""), "is_active": True,
        })
        bounty.objectives.all().delete()
        BountyObjective.objects.bulk_create([
            BountyObjective(bounty=bounty, order=i, kind=o["kind"], item=items.get(o.get("item") or ""),
                            npc=npcs.get(o.get("npc") or ""), location=locations.get(o.get("location") or ""), text=o["text"])
            for i, o in enumerate(d["objectives"])
        ])


def _load_mystery(d: dict | None, locations, npcs) -> None:
    if not d:
        return
    sol = d["solution"]
    Mystery.objects.exclude(slug=d["slug"]).delete()
    mystery, _ = Mystery.objects.update_or_create(slug=d["slug"], defaults={
        "title": d["title"], "intro": d["intro"], "culprit": npcs[sol["accuse"]], "min_clues": sol.get("min_clues", 3),
        "reward_gold": sol.get("reward_gold", 0), "solved_text": sol["text"], "wrong_text": sol["wrong_text"],
        "not_ready_text": sol["not_ready_text"],
    })
    mystery.clues.all().delete()
    Clue.objects.bulk_create([
        Clue(mystery=mystery, slug=c["slug"], text=c["text"], kind=c["how"]["kind"],
             location=locations.get(c["how"].get("location") or ""), feature_slug=c["how"].get("feature", ""),
             npc=npcs.get(c["how"].get("npc") or ""), keywords=", ".join(c["how"].get("keywords", [])),
             min_tier=c["how"].get("min_tier") or "stranger", hours=c["how"].get("hours") or [])
        for c in d["clues"]
    ])


@transaction.atomic
def world_content_load(*, path: Path = WORLD_FILE) -> dict[str, int]:
    """Load (or reload) the world from a JSON file; returns how many of each thing it holds."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    start = data.get("start", {})
    npcs = _load_npcs(data["npcs"])
    locations = _load_locations(data["locations"], start.get("location", "common-room"))
    items = _load_items(data["items"], locations, npcs)
    _load_jobs(data["jobs"], locations, npcs)
    _load_bounties(data["bounties"], locations, npcs, items)
    for r in data.get("rumours", []):
        Rumour.objects.update_or_create(slug=r["slug"], defaults={"text": r["text"], "days": r.get("days") or [], "source": npcs.get(r.get("source") or "")})
    _load_mystery(data.get("mystery"), locations, npcs)
    canon = canon_facts_load(entries=data.get("canon", []))  # the designer-pinned facts (npcs/canon.py)
    config = WorldConfig.objects.first() or WorldConfig()
    config.start_gold, config.start_day, config.start_hour = start.get("gold", 20), start.get("day", 0), start.get("hour", 8)
    config.save()
    transaction.on_commit(world_changed)
    return {"npcs": len(npcs), "locations": len(locations), "items": len(items), "jobs": len(data["jobs"]),
            "bounties": len(data["bounties"]), "rumours": len(data.get("rumours", [])),
            "canon facts": canon["created"] + canon["updated"]}


def world_is_loaded() -> bool:
    return Location.objects.exists()
