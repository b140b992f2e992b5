"""Answers the game knows about the tavern's people, to questions a player puts to an NPC: who is
here, where someone is, who the NPC itself is, what it makes of someone, and who another player
standing here is (gameplay/answers.py puts each to the model as the answer of the moment)."""
from __future__ import annotations

import random
import re

from npcs.persona import NpcDef, name_words, role_nouns, says_any, short_name, tier_at_least, topic_match

from .answers_goods import unsaid_words
from .reply_premises import premise_claimed
from .rules.lookup import listed, npc_named, place_in
from .rules.situation import PATRON, patron_label, present_label
from .rules.talk import whereabouts


# A line asking who is about ("Who's that sitting by the fire?", "Who else is in tonight?"): a reply
# must name someone here, or say that nobody else is (the default model answered both with "The
# fire's a fire, friend."). Who built, runs or took something is another question.
_PRESENT_ASKED = re.compile(
    r"\bwho(?:'s| is| are)?(?: else)?(?:'s| is| are)? (?:here|about|around|in(?: here| tonight| today| now)?)\s*\??$|"
    r"\bwho(?:'s| is| are) (?:that|those|they|the \w+)(?: \w+)? (?:sitting|standing|drinking|over|by|at|in the corner)\b|"
    r"\bwho(?:'s| is) that\s*\??$|"
    r"\b(?:any|some)(?:one|body) (?:else )?(?:here|about|around|in tonight)\b", re.IGNORECASE)
_NOBODY_WORDS = ("nobody", "no one", "no-one", "just us", "only us", "just you", "just me", "quiet")


def present_asked(line: str) -> bool:
    return bool(_PRESENT_ASKED.search(line.strip()))


def present_people(world, situation) -> tuple:
    """The NPCs the moment says are here besides the speaker, as the world defines them."""
    return tuple(npc for npc in world.npcs.values() if present_label(npc) in situation.present)


def patrons_in(situation) -> tuple[str, ...]:
    """The other players the moment says are here (a shared tavern), by their names."""
    return tuple(label.removesuffix(f", {PATRON}") for label in situation.present if label.endswith(f", {PATRON}"))


def present_said(others: tuple, patrons: tuple[str, ...] = ()) -> str:
    """ "Here just now: Wren Abney, the serving maid, and Amos Fennick, the old regular." (and, in a
    shared tavern, "Bram, a traveller")."""
    if not others and not patrons:
        return "Nobody else just now; only you and me."
    return "Here just now: " + listed([f"{npc.name}, the {npc.role}" for npc in others] + [patron_label(p) for p in patrons],
                                      ", and ") + "."


def present_words(others: tuple, patrons: tuple[str, ...] = ()) -> tuple[str, ...]:
    """What a reply naming someone here says: a name's words; with nobody here, that nobody is."""
    if not others and not patrons:
        return _NOBODY_WORDS
    return tuple(dict.fromkeys([*(w for npc in others for w in npc.name.split() if len(w) > 2),
                                *(w for name in patrons for w in name.split() if len(w) > 1)]))


# A line asking where someone of the tavern is ("Where can I find Vesna?"): a reply must say where,
# or when they are back, as their schedule has it (the default model answered "There's a place
# called Vesna, not far from the common room."). Where someone usually sits, or who they are ("Who is
# Vesna?"), is another question.
_WHERE_IS = re.compile(r"\b(?:where(?:'s| is| are)|where (?:can|could|would|might|do|should) (?:i|we|one) (?:find|see|look for|get hold of)|"
                       r"(?:have|has) (?:you|anyone|anybody) seen|(?<!who )(?<!what )(?<!how )(?:is|are))\s+(?P<who>[a-z][a-z' ]{1,40}?)"
                       r"(?:\s+(?:around|about|in|here|today|tonight|now|at the moment|these days|just now))*\s*\??$", re.IGNORECASE)


def whereabouts_asked(world, line: str, *, speaker: NpcDef):
    """The NPC (not the speaker) a line asks the whereabouts of, or None."""
    m = _WHERE_IS.search(line.strip())
    if m is None:
        return None
    others = [npc for npc in world.npcs.values() if npc.slug != speaker.slug]
    who = m.group("who")
    return npc_named(others, who) or npc_named(others, who.lower().removeprefix("the ").removeprefix("captain "))


def whereabouts_said(world, plan, sought) -> tuple[str, tuple[str, ...]]:
    """Where `sought` is at the moment of `plan`, said plainly, and the words a reply saying it uses."""
    first = short_name(sought)
    place, back = whereabouts(world, sought, plan.minute)
    if place is not None and place.name == plan.situation.place:
        return f"{first} is right here.", (first, "here")
    if place is not None:
        return f"You'd find {first} {place_in(place.name)} just now.", (place.name.removeprefix("The "),)
    if back:
        return f"{first} is out just now, back about the {back}.", ("out", "back", "away", "gone")
    return f"{first} is out, and I couldn't say when {first} will be back.", ("out", "away", "gone")


# A line asking the NPC about itself ("Tell me about yourself."): a reply must say who it is, by name or
# trade, else the NPC's own words about itself are said (the default model had Magda say "I'm a curious
# one, always finding new ways to explore the world.").
_SELF_ASKED = re.compile(r"\b(?:(?:tell|talk to) me (?:a (?:bit|little) |something |more )?about (?:yourself|you)\b(?! and)|"
                         r"what(?:'s| is) your story|(?:who|what) are you,? (?:really|exactly)|"
                         r"what (?:do|did) you do (?:here|around here|for a living)|a bit about yourself|describe yourself)", re.IGNORECASE)


def self_asked(line: str) -> bool:
    return bool(_SELF_ASKED.search(line))


def self_told(plan, npc: NpcDef) -> str:
    """The NPC's own authored words about itself (its topic on "yourself"), one by the turn's seed."""
    topic = topic_match(npc, "yourself", tier=plan.tier)
    return random.Random(f"{plan.seed}:self").choice(topic.lines) if topic and topic.lines else ""


# A line asking the NPC about someone of the tavern ("Is Wren trustworthy?", "What do you make of the
# bard?"): a reply must speak of them, by name, trade or "she"/"he", else the NPC's own words about them
# are said (the default model had Gareth answer "Is Wren trustworthy?" with "It is not a thing to be
# told, friend. We are but two things."). Only where the NPC has such words; never for a false claim.
_ABOUT_SOMEONE = re.compile(r"(?:\bwhat (?:do|d'?) you (?:think|make) of|\bdo you know|\bwhat(?:'s| is| about)|\btell me (?:more |a bit |a little )?about|"
                            r"\bwho(?:'s| is)|^\W*(?:is|can i trust|do you trust|do you like|should i trust)|\bhow(?:'s| is))\s+"
                            r"(?P<who>[a-z][a-z' ]{1,40})", re.IGNORECASE)
_PRONOUNS = ("she", "he", "her", "him", "his", "hers", "she's", "he's")


def _about_someone(line: str) -> re.Match | None:
    """Where a line asking about someone names them (its `who`), unless the line is a false claim."""
    m = _ABOUT_SOMEONE.search(line.strip())
    return None if m is None or premise_claimed(line) else m


def person_asked(world, line: str, *, speaker: NpcDef):
    """The NPC (not the speaker) a line asks about, or None."""
    m = _about_someone(line)
    if m is None:
        return None
    others = [npc for npc in world.npcs.values() if npc.slug != speaker.slug]
    words = [w.removesuffix("'s") for w in m.group("who").split()]
    said = [" ".join(words[a:b]) for a, b in ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3)) if b <= len(words)]  # "the bard", "Captain Varr"
    return next((npc for words in said for npc in [npc_named(others, words)] if npc is not None), None)


def person_told(plan, npc: NpcDef, person: NpcDef) -> str:
    """One of the NPC's own authored lines about `person`: of a topic of its on them (by name or
    trade), a line naming them."""
    called = {w.lower() for w in name_words(person)} | set(role_nouns(person.role))
    lines = [line for topic in npc.topics if tier_at_least(plan.tier, topic.min_tier)
             and called & {k.lower() for k in topic.keywords} for line in topic.lines if says_any(line, name_words(person))]
    return random.Random(f"{plan.seed}:person").choice(lines) if lines else ""


def person_words(person: NpcDef) -> tuple[str, ...]:
    return (*name_words(person), *role_nouns(person.role), *_PRONOUNS)


def patron_asked(line: str, patrons: tuple[str, ...]) -> str:
    """The other player standing here a line asks about ("Do you know Bram?"), or ""."""
    m = _about_someone(line)
    if m is None:
        return ""
    asked = line.strip()[m.start("who"):]  # the name may hold a figure ("Wayfarer 2"), which the pattern's name does not
    return next((p for p in sorted(patrons, key=len, reverse=True)
                 if re.match(rf"{re.escape(p)}(?![\w-])", asked, re.IGNORECASE)), "")


# "Who's in charge around here?", "who owns this place?": the owner, by the role the world gives.
_OWNER_ASKED = re.compile(r"\bwho(?:'s| is)? (?:in charge|the owner|the boss|the landlord|the landlady)\b(?! of the (?:den|kitchen|watch|stall))|"
                          r"\bwho (?:runs|owns|keeps) (?:this|the) (?:place|tavern|inn|tankard|house|joint)\b", re.IGNORECASE)


def owner_asked(line: str) -> bool:
    return bool(_OWNER_ASKED.search(line))


def owner_said(world, npc: NpcDef) -> tuple[str, tuple[str, ...]] | None:
    """ "That's Gareth Rusk, the barkeep and owner." and the words a reply must say, or None."""
    owner = next((n for n in world.npcs.values() if "owner" in n.role.lower()), None)
    if owner is None:
        return None
    if owner.slug == npc.slug:
        return f"That's me: {owner.name}, the {owner.role}.", ("i am", "i do", "me", "mine", *name_words(owner))
    return f"That's {owner.name}, the {owner.role}.", name_words(owner)



# "Who works here?", "who are the regulars?", "who should I talk to?": a reply must name people of the
# house (the default model had Gareth answer "That's a lady, you know it. She's a servant of the common
# room."). The NPC's own authored words on them, where it has some naming two or more; else who they are.
_PEOPLE_ASKED = re.compile(
    r"\bwho (?:else )?(?:works|work|serves|drinks|comes|drops in|lives|stays|sits) (?:here|in here|round here|around here|at this|in this)\b|"
    r"\bwho (?:are|r) (?:the |your )?(?:regulars|staff|locals|folk|people|others)\b|"
    r"\bwho(?:'s| is) who\b|\bwho (?:do|does) (?:the )?(?:work|cooking|serving)\b|"
    r"\bwho (?:should|ought|could|might) i (?:know|meet|talk to|speak to|speak with|ask)(?: around)? ?(?:here|around here)?\s*\??$|"
    r"\b(?:tell me|what) about (?:the )?(?:people|folk|regulars|staff|locals)(?: here| around here)?\b|"
    r"\bwhat are (?:the )?(?:people|folk|regulars|staff|locals) like\b|\bwho (?:are|r) your (?:staff|regulars|customers)\b",
    re.IGNORECASE)
PEOPLE_TOLD = 2  # at most this many of the NPC's own lines


def people_asked(line: str) -> bool:
    return bool(_PEOPLE_ASKED.search(line))


def people_told(world, plan, npc: NpcDef) -> tuple[str, tuple[str, ...]]:
    """What the NPC says of the house's people, and the names it says."""
    others = [person for person in world.npcs.values() if person.slug != npc.slug]
    topic = next((t for key in ("people", "staff", "regulars") if (t := topic_match(npc, key, tier=plan.tier)) is not None), None)
    lines = [line for line in (topic.lines if topic else ()) if sum(says_any(line, name_words(p)) for p in others) >= 2]
    if lines:
        said = " ".join(lines[:PEOPLE_TOLD])
        return said, tuple(w for p in others if says_any(said, name_words(p)) for w in name_words(p))
    parts = [f"{p.name}, the {p.role}" for p in others]
    said = "Under this roof you'll meet " + "; ".join(parts[:-1]) + ("; and " if len(parts) > 1 else "") + parts[-1] + "."
    return said, tuple(w for p in others for w in name_words(p))


# A question on something the NPC has its own authored words about ("what happened to your lute
# strings?", "what was it like here in the old days?"): the model is told them, and a reply must say a
# word of them (the default model had Tobias answer the first "They're not working, they are. I was
# just out of the shop"). Asked only when the line names the topic clearly: a phrase of it, two of its
# words, or one long word ("brackwater").
_TOPIC_COMMON = frozenset("about after again their there these those which while would could should other every under still "
                          "never always being thing things something nothing anything everyone everybody people what's whats "
                          "that this with your have like from tell know think".split())
_TOPIC_WORD = re.compile(r"\b[A-Za-z][a-z']{4,}")


def topic_told(plan, npc: NpcDef, *, said_before: tuple[str, ...] = ()) -> tuple[str, str, tuple[str, ...]] | None:
    """(the topic's first keyword, one of its lines not said before, the words a reply must say one
    of), or None."""
    topic = topic_match(npc, plan.line, tier=plan.tier)
    if topic is None or not topic.lines:
        return None
    lowered, words = f" {plan.line.lower()} ", set(re.findall(r"[a-z']+", plan.line.lower()))
    hits = [k.lower() for k in topic.keywords if (" " in k and f" {k.lower()}" in lowered) or k.lower() in words]
    if not (len(hits) >= 2 or any(" " in k or len(k) >= 6 for k in hits)):
        return None
    fresh = [line for line in topic.lines if line not in said_before] or list(topic.lines)
    asked = {w[:5] for w in words if len(w) >= 4 and w not in _TOPIC_COMMON}  # "why's it called the LIVING ..." is the line on "Living"
    shared = {line: (sum(says_any(line, (k,)) for k in hits), len(asked & {w.lower()[:5] for w in _TOPIC_WORD.findall(line)}))
              for line in fresh}  # the topic's words the line names first, then any other
    said = random.Random(f"{plan.seed}:topic").choice([line for line in fresh if shared[line] == max(shared.values())])
    return hits[0], said, unsaid_words(" ".join(topic.lines), plan.line, names=True, common=_TOPIC_COMMON)
