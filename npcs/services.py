"""Writes of per-game NPC state, and of canon facts (loading a file, evicting the cached replies a fact contradicts)."""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from functools import partial

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from llm.reply_cache import reply_cache_evict_where

from .canon import CanonDef, canon_contradicted, canon_for_npc, canon_self_contradiction
from .models import CanonFact, Npc, NpcState
from .persona import NpcDef, relationship_bounded
from .selectors import NpcStateValue, canon_value


def npc_states_create(*, game_id: uuid.UUID, npcs: Iterable[NpcDef]) -> None:
    NpcState.objects.bulk_create(
        [NpcState(game_id=game_id, npc_id=npc.id, mood=npc.initial_mood, relationship=0, flags={}) for npc in npcs],
        ignore_conflicts=True,
    )


def npc_states_save(*, game_id: uuid.UUID, changed: Mapping[str, NpcStateValue], npc_ids: Mapping[str, int]) -> None:
    """Save the changed NPC states of one game (a turn changes one or two): one update each, and an
    insert for any that had no row (an NPC added to the world after the game began)."""
    to_create = []
    for slug, value in changed.items():
        npc_id = npc_ids.get(slug)
        if npc_id is None:
            continue
        fields = {"mood": value.mood, "relationship": relationship_bounded(value.relationship), "flags": value.flags}
        if not NpcState.objects.filter(game_id=game_id, npc_id=npc_id).update(**fields, updated_at=timezone.now()):
            to_create.append(NpcState(game_id=game_id, npc_id=npc_id, **fields))
    if to_create:
        NpcState.objects.bulk_create(to_create, ignore_conflicts=True)


def npc_persona_touch(*, npc: Npc) -> None:
    """Bump the persona version so cached replies that drew on the old persona stop matching."""
    Npc.objects.filter(pk=npc.pk).update(persona_version=F("persona_version") + 1)


# --- canon -----------------------------------------------------------------------------------------
class CanonEntryError(ValueError):
    """An entry of a canon file that cannot be loaded: which one (0-based), which field, and why."""

    def __init__(self, index: int, field: str, problem: str) -> None:
        super().__init__(f"entry {index}, field {field!r}: {problem}")
        self.index, self.field, self.problem = index, field, problem


_TEXT_FIELDS = ("subject", "value")
_LIST_FIELDS = ("keywords", "npcs", "holds", "never")
_FLAG_FIELDS = {"meaning_match": False, "always": False, "active": True}


def canon_facts_load(*, entries: object) -> dict[str, int]:
    """Load a list of canon facts (`{"text", "keywords", "npcs"}` and optional fields), all or none:
    a fact is matched by its `key` (by default the slug of its text), so loading twice changes
    nothing. Raises CanonEntryError naming the first bad entry. Cached replies the facts now
    contradict are evicted once the load commits. Returns how many were created and updated."""
    if not isinstance(entries, list):
        raise CanonEntryError(0, "(file)", "a canon file is a JSON list of facts")
    slugs = dict(Npc.objects.values_list("slug", "id"))
    cleaned = [_canon_entry(i, entry, slugs) for i, entry in enumerate(entries)]
    keys = [c["key"] for c in cleaned]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            raise CanonEntryError(i, "key", f"{key!r} is used by entry {keys.index(key)} too")
    created = 0
    with transaction.atomic():
        for values in cleaned:
            npc_ids = values.pop("npc_ids")
            fact, made = CanonFact.objects.update_or_create(key=values.pop("key"), defaults=values)
            fact.npcs.set(npc_ids)
            created += made
        transaction.on_commit(partial(canon_cache_evict, keys=keys))
    return {"created": created, "updated": len(cleaned) - created}


def _canon_entry(index: int, entry: object, slugs: Mapping[str, int]) -> dict:
    if not isinstance(entry, dict):
        raise CanonEntryError(index, "(entry)", "each fact is a JSON object")
    text = entry.get("text")
    if not isinstance(text, str) or not text.strip():
        raise CanonEntryError(index, "text", "the fact's text is missing or empty")
    values = {"text": text.strip()}
    for name in _LIST_FIELDS:
        raw = entry.get(name, [])
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            raise CanonEntryError(index, name, "must be a list of strings")
        values[name] = [v.strip() for v in raw if v.strip()]
    unknown = [s for s in values["npcs"] if s not in slugs]
    if unknown:
        raise CanonEntryError(index, "npcs", f"no NPC with the slug {unknown[0]!r}")
    for name in _TEXT_FIELDS:
        if not isinstance(entry.get(name, ""), str):
            raise CanonEntryError(index, name, "must be a string")
        values[name] = entry.get(name, "").strip()
    if bool(values["subject"]) != bool(values["value"]):
        raise CanonEntryError(index, "value" if values["subject"] else "subject", "subject and value go together")
    for name, default in _FLAG_FIELDS.items():
        if not isinstance(entry.get(name, default), bool):
            raise CanonEntryError(index, name, "must be true or false")
    priority = entry.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool) or not -1000 <= priority <= 1000:
        raise CanonEntryError(index, "priority", "must be a whole number from -1000 to 1000")
    statement = canon_self_contradiction(CanonDef(key="", text=values["text"], subject=values["subject"], value=values["value"],
                                                  holds=tuple(values["holds"]), never=tuple(values["never"])))
    if statement is not None:
        raise CanonEntryError(index, "never" if statement in values["never"] else "holds" if statement in values["holds"] else "value",
                              f"the fact's own text breaks {statement!r}: a reply saying the fact would be held back")
    key = entry.get("key") or slugify(values["text"])[:80].strip("-")
    if not isinstance(key, str) or slugify(key) != key or not key or len(key) > 80:
        raise CanonEntryError(index, "key", "must be a slug (lower-case letters, digits and hyphens), at most 80 long")
    return {
        "key": key, "text": values["text"], "keywords": ", ".join(values["keywords"]), "subject": values["subject"],
        "value": values["value"], "holds": "\n".join(values["holds"]), "never": "\n".join(values["never"]),
        "meaning_match": entry.get("meaning_match", False), "always": entry.get("always", False),
        "is_active": entry.get("active", True), "priority": priority, "npc_ids": [slugs[s] for s in values["npcs"]],
    }


def canon_cache_evict(*, keys: Iterable[str]) -> int:
    """Evict the cached replies that these facts (by key; inactive ones are skipped) contradict, of the
    NPCs they apply to, from every level and process; returns how many went."""
    facts = tuple(canon_value(f) for f in CanonFact.objects.filter(key__in=list(keys), is_active=True).prefetch_related("npcs"))
    facts = tuple(f for f in facts if f.checkable)
    if not facts:
        return 0
    npcs = {npc_id: (slug, name) for npc_id, slug, name in Npc.objects.values_list("id", "slug", "name")}
    scoped = not any(not f.npcs for f in facts)
    npc_ids = [i for i, (slug, _) in npcs.items() if any(f.applies_to(slug) for f in facts)] if scoped else None

    def wrong(npc_id: int, text: str) -> bool:
        slug, name = npcs.get(npc_id, ("", ""))
        words = frozenset(w.lower() for w in name.split())
        return canon_contradicted(text, canon_for_npc(facts, slug), speaker_words=words) is not None

    return reply_cache_evict_where(npc_ids=npc_ids, wrong=wrong)


def canon_fact_changed(*, fact: CanonFact) -> int:
    """An editor saved a fact (the admin): evict the cached replies it contradicts. The world's
    reload, which puts it in every process's prompts and checks, follows from the save itself."""
    return canon_cache_evict(keys=[fact.key])
