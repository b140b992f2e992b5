"""Pure NPC behaviour from persona data: relationship tiers, schedules, and in-character lines that
need no model (the fallback ladder's persona rung and the say reply before any LLM is involved)."""
from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .models import TIERS

TIER_FLOORS = (("confidant", 60), ("friend", 30), ("acquaintance", 10), ("stranger", -9), ("wary", -49), ("hostile", -100))


@dataclass(frozen=True)
class TopicDef:
    keywords: tuple[str, ...]
    lines: tuple[str, ...]
    min_tier: str


@dataclass(frozen=True)
class SlotDef:
    days: frozenset[int] | None  # None: every day
    start: int
    end: int
    location: str


@dataclass(frozen=True)
class NpcDef:
    """An NPC's definition as plain values, shared read-only by every game."""

    id: int
    slug: str
    name: str
    role: str
    appearance: str
    personality: str
    speech_style: str
    knows: tuple[str, ...]
    hides: tuple[str, ...]
    initial_mood: str
    greetings: tuple[str, ...]
    idle_lines: tuple[str, ...]
    busy_lines: tuple[str, ...]
    cutoff_lines: tuple[str, ...]
    topics: tuple[TopicDef, ...]
    schedule: tuple[SlotDef, ...]
    persona_version: int
    voice_examples: tuple[tuple[str, str], ...] = ()  # (player line, NPC reply): the voice shown to the model
    denials: tuple[str, ...] = ()  # turning down a false claim, in the NPC's words
    refusals: tuple[str, ...] = ()  # turning down an order about itself, in the NPC's words
    asked: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (question players put to it, their phrasings)


def relationship_bounded(score: int) -> int:
    """A relationship score as the game keeps it: -100 to 100."""
    return max(-100, min(100, score))


def relationship_tier(score: int) -> str:
    for tier, floor in TIER_FLOORS:
        if score >= floor:
            return tier
    return "hostile"


def tier_at_least(tier: str, minimum: str) -> bool:
    return TIERS.index(tier) >= TIERS.index(minimum or "stranger") if minimum else True


def npc_location_at(npc: NpcDef, *, day: int, hour: int) -> str | None:
    """Where the NPC's schedule puts them at this hour of this day of the week, or None (away)."""
    weekday = day % 7
    for slot in npc.schedule:
        if slot.days is not None and weekday not in slot.days:
            continue
        if slot.start <= hour < slot.end:
            return slot.location
    return None


_WORD = re.compile(r"[a-z']+")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def topic_match(npc: NpcDef, line: str, *, tier: str) -> TopicDef | None:
    """The topic whose keywords best match the player's line, among those the tier allows."""
    lowered = f" {line.lower()} "
    words = _words(line)
    best, best_score = None, 0
    for topic in npc.topics:
        if not tier_at_least(tier, topic.min_tier):
            continue
        score = 0
        for keyword in topic.keywords:
            kw = keyword.lower().strip()
            if not kw:
                continue
            if " " in kw and kw in lowered:
                score += 3
            elif kw in words or (len(kw) > 4 and any(w.startswith(kw) for w in words)):
                score += 2
        if score > best_score:
            best, best_score = topic, score
    return best


def persona_reply(npc: NpcDef, line: str, *, tier: str, first_meeting: bool, rng: random.Random) -> str:
    """An in-character reply drawn from the NPC's persona data alone."""
    topic = topic_match(npc, line, tier=tier)
    if topic and topic.lines:
        reply = rng.choice(topic.lines)
    elif _words(line) & {"hello", "hi", "greetings", "evening", "morning", "hail", "hey"} and npc.greetings:
        reply = rng.choice(npc.greetings)
    elif npc.idle_lines:
        reply = rng.choice(npc.idle_lines)
    else:
        reply = f"{npc.name} considers that for a moment, then shrugs."
    if first_meeting and npc.greetings and topic is None and reply not in npc.greetings:
        reply = f"{rng.choice(npc.greetings)} {reply}"
    return reply


def busy_line(npc: NpcDef, rng: random.Random) -> str:
    if npc.busy_lines:
        return rng.choice(npc.busy_lines)
    return f"{npc.name} is busy for a moment and signals you to wait."


def cutoff_line(npc: NpcDef, rng: random.Random) -> str:
    if npc.cutoff_lines:
        return rng.choice(npc.cutoff_lines)
    return "... but that's a tale for another time."


def thinking_line(npc: NpcDef, rng: random.Random) -> str:
    """An in-world line while the NPC's reply is slow to start."""
    first = npc.name.split()[0]
    return rng.choice((
        f"{first} considers your words for a moment\u2026",
        f"{first} pauses, gathering a thought\u2026",
        f"{first} glances at you, then away, thinking\u2026",
    ))


def npc_persona_values(npc: NpcDef) -> dict:
    """The persona fields a prompt draws on, as plain keyword values."""
    return {
        "name": npc.name, "role": npc.role, "personality": npc.personality, "speech_style": npc.speech_style,
        "knows": npc.knows, "hides": npc.hides, "appearance": npc.appearance,
        "voice": npc.voice_examples,
    }


# The line asks the NPC who it is: a reply must say its name (the default model once answered Gareth's
# "What's your name?" with "Moses. I'm a mason.", and that reply was kept and served to everyone).
_OWN_NAME = re.compile(r"\b(?:(?:your|ur|yer|yur) (?:good |real |full )?name\b(?! for)|what (?:are|r) (?:you|u|ye) called|"
                       r"\band (?:you|u|ye) (?:are|r)\s*\?|"
                       r"what (?:do|should|shall|can) (?:i|we|people|folk|they) call (?:you|u|ye)|"
                       r"who (?:are|r) (?:you|u|ye)\b(?! (?:to|with|for|looking|waiting))|"
                       r"introduce yourself|how should i address you)", re.IGNORECASE)
NAME_TITLES = frozenset({"captain", "master", "mistress", "old", "young", "sir", "lady", "lord", "mother", "father", "brother", "sister"})


def own_name_asked(line: str) -> bool:
    """Whether the line asks the NPC's name (or who it is)."""
    return bool(_OWN_NAME.search(line))


def name_words(npc: NpcDef) -> tuple[str, ...]:
    """The words of an NPC's name a reply may say it by: "Captain Isolde Varr" -> Isolde, Varr."""
    return tuple(w for w in npc.name.replace("-", " ").split() if w.lower() not in NAME_TITLES and len(w) > 1)


def names_pattern(npc: NpcDef) -> str:
    """A pattern for the NPC's name or a word of it, longest first, with its title ("Captain Varr")."""
    names = sorted({npc.name, *name_words(npc)}, key=len, reverse=True)
    return r"(?:Captain )?(?:" + "|".join(re.escape(n) for n in names) + ")"


def own_possessive(text: str, npc: NpcDef) -> str:
    """A text as the NPC says it of its own things: its name's "'s" is "my" ("Magda's famous stew",
    said by Magda: "my famous stew")."""
    return re.sub(rf"\b{names_pattern(npc)}'s\b", "my", text)


def short_name(npc: NpcDef) -> str:
    """What the tavern calls the NPC in passing: "Varr" for Captain Isolde Varr, else the first name."""
    words = npc.name.split()
    return words[-1] if npc.name.startswith("Captain ") else words[0]


def role_nouns(role: str) -> tuple[str, ...]:
    """What an NPC is, in words a player may call it by: "barkeep and owner" -> barkeep, owner;
    "captain of the Brackwater Watch" -> captain; "card dealer in the gambling den" -> dealer."""
    head = re.split(r"\b(?:of|in|at|for|from)\b", role.lower())[0]
    return tuple(words[-1] for part in head.split(" and ") if (words := re.findall(r"[a-z][a-z'-]*", part)))


def says_any(text: str, words: Iterable[str]) -> bool:
    """Whether a text says any of these words or phrases, whole, in any case."""
    return any(re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE) for word in words)


def name_said(text: str, npc: NpcDef) -> bool:
    """Whether a reply says the NPC's name (any word of it)."""
    return says_any(text, name_words(npc))
