"""Reads of NPC definitions and per-game NPC state, returned as plain values."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from .canon import CanonDef
from .models import CanonFact, Npc, NpcState
from .persona import NpcDef, SlotDef, TopicDef


@dataclass(frozen=True)
class NpcStateValue:
    npc_slug: str
    mood: str
    relationship: int
    flags: dict


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _slot_days(days: str) -> frozenset[int] | None:
    if days.strip().lower() in {"", "all", "*"}:
        return None
    return frozenset(int(d) % 7 for d in _split(days) if d.isdigit())


def _voice_examples(raw) -> tuple[tuple[str, str], ...]:
    """An editor's JSON as (player, npc) pairs; an entry missing either side is left out."""
    pairs = []
    for entry in raw if isinstance(raw, list) else ():
        if isinstance(entry, dict) and str(entry.get("player", "")).strip() and str(entry.get("npc", "")).strip():
            pairs.append((str(entry["player"]).strip(), str(entry["npc"]).strip()))
    return tuple(pairs)


def npc_definitions_all(*, limit: int = 500) -> tuple[NpcDef, ...]:
    """Every active NPC with topics and schedule: three queries, whatever the number of NPCs."""
    npcs = Npc.objects.filter(is_active=True).prefetch_related("topics", "schedule").order_by("slug")[:limit]
    return tuple(
        NpcDef(
            id=npc.id,
            slug=npc.slug,
            name=npc.name,
            role=npc.role,
            appearance=npc.appearance,
            personality=npc.personality,
            speech_style=npc.speech_style,
            knows=tuple(npc.knows or ()),
            hides=tuple(npc.hides or ()),
            initial_mood=npc.initial_mood,
            greetings=tuple(npc.greetings or ()),
            idle_lines=tuple(npc.idle_lines or ()),
            busy_lines=tuple(npc.busy_lines or ()),
            cutoff_lines=tuple(npc.cutoff_lines or ()),
            topics=tuple(
                TopicDef(keywords=_split(t.keywords), lines=tuple(l.strip() for l in t.lines.splitlines() if l.strip()), min_tier=t.min_tier)
                for t in npc.topics.all()
            ),
            schedule=tuple(
                SlotDef(days=_slot_days(s.days), start=s.start_hour, end=s.end_hour, location=s.location_slug)
                for s in npc.schedule.all()
            ),
            persona_version=npc.persona_version,
            voice_examples=_voice_examples(npc.voice_examples),
            denials=tuple(str(line) for line in npc.denials or () if str(line).strip()),
            refusals=tuple(str(line) for line in npc.refusals or () if str(line).strip()),
            asked=_asked(npc.asked),
        )
        for npc in npcs
    )


def npc_states_for_game(*, game_id: uuid.UUID, limit: int = 200) -> dict[str, NpcStateValue]:
    # Plain tuples, not model instances: read on every turn, and building models was most of its cost.
    rows = NpcState.objects.filter(game_id=game_id).values_list("npc__slug", "mood", "relationship", "flags")[:limit]
    return {slug: NpcStateValue(npc_slug=slug, mood=mood, relationship=rel, flags=dict(flags)) for slug, mood, rel, flags in rows}


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def canon_facts_all(*, limit: int = 500) -> tuple[CanonDef, ...]:
    """Every active canon fact with the NPCs it applies to, highest priority first: two queries."""
    rows = CanonFact.objects.filter(is_active=True).prefetch_related("npcs").order_by("-priority", "key")[:limit]
    return tuple(canon_value(fact) for fact in rows)


def canon_value(fact: CanonFact) -> CanonDef:
    return CanonDef(
        key=fact.key, text=fact.text.strip(), keywords=tuple(k.lower() for k in _split(fact.keywords)),
        meaning=fact.meaning_match, npcs=frozenset(n.slug for n in fact.npcs.all()), always=fact.always,
        priority=fact.priority, subject=fact.subject.strip(), value=fact.value.strip(), holds=_lines(fact.holds),
        never=_lines(fact.never),
    )


def _asked(value) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The NPC's asked questions as plain values; entries of another shape (a hand edit) are skipped."""
    found = []
    for entry in value or ():
        if isinstance(entry, dict) and str(entry.get("question", "")).strip():
            phrasings = tuple(str(p).strip() for p in entry.get("phrasings") or () if str(p).strip())
            found.append((str(entry["question"]).strip(), phrasings))
    return tuple(found)
