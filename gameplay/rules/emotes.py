"""Gestures and small doings the rules do not own ("wave to wren", "sit by the fire", "yawn"). A
gesture changes nothing and costs no time; the game says it plainly, with how someone in the room
takes it: "You wave to Wren. Wren Abney glances your way." The gestures are the verbs of a MUD's
socials and a tavern's idle doings: a line that starts with one (or with "I" and one) is a gesture.

Other free text goes to the narrator (gameplay.voice.anarrate). The default 135M model narrating
gestures copied its examples' endings or wandered ("You raise your mug, and the glass shatters."),
so the game says them itself: at once, and always about the room the player is in."""
from __future__ import annotations

import random
import re

from npcs.persona import NpcDef

from .context import TurnContext

GESTURES = frozenset("""
    nod bow curtsy curtsey shrug smile grin smirk beam frown scowl glare laugh chuckle giggle cackle snicker
    sigh yawn stretch wave wink clap applaud cheer dance jig sing hum whistle cough sneeze sniff blush cry weep
    sob grumble groan moan mutter pout ponder think nudge poke hug pat tap drum fidget pace lean sit stand
    kneel salute toast raise tip glance stare gaze watch listen peer peek shiver tremble jump hop skip twirl
    spin strut relax lounge slump doze snore burp belch hiccup scratch rub crack stamp stomp tiptoe wander
    loiter warm admire blink gasp grunt growl howl whimper sniffle wipe straighten adjust fold cross flex
    bounce rock sway lie hide duck crouch squat pray meditate daydream brood smoke puff knock rap
""".split())
_I = re.compile(r"^(?:i|i'll|i will|let me|let's)\s+", re.IGNORECASE)
_PERSON = {"my": "your", "me": "you", "myself": "yourself", "mine": "yours", "i": "you", "i'm": "you're",
           "am": "are", "our": "your", "us": "you", "we": "you"}
_THIRD = {"my": "their", "me": "them", "myself": "themself", "mine": "theirs", "i": "they", "i'm": "they're",
          "am": "is", "our": "their", "us": "them", "we": "they", "your": "your", "you": "you"}
REACTED = 0.6  # the share of gestures aimed at nobody that someone present is seen to take in
MAX_WORDS = 12  # a longer line is no gesture: the narrator, or nothing
REACTIONS = (
    "{name} glances your way.",
    "{name} catches your eye and nods.",
    "{name} raises an eyebrow.",
    "{name} pretends not to notice.",
    "{name} smiles at that.",
)
def gesture_words(line: str) -> list[str] | None:
    """The gesture's words, the player's "I" taken off, or None when the line is no gesture."""
    words = re.sub(r"[^\w\s'-]", " ", _I.sub("", line.strip())).split()
    if not words or len(words) > MAX_WORDS or words[0].lower() not in GESTURES:
        return None
    return words


def gesture_said(ctx: TurnContext, line: str) -> str | None:
    """The gesture said plainly in the second person, with a reaction of someone present (the
    one it is aimed at, if any); None when the line is no gesture."""
    words = gesture_words(line)
    if words is None:
        return None
    names = _name_parts(ctx)
    named = [names[w.lower().removesuffix("'s")] for w in words if w.lower().removesuffix("'s") in names]
    phrase = " ".join(_second_person(w, names) for w in words)
    people = ctx.present_npcs()
    present = {n.slug for n in people}
    absent = next((npc for _, npc in named if npc.slug not in present), None)
    if absent is not None:
        return f"You {phrase}, but {absent.name} is not here to see it."
    patrons = ctx.present_patrons()
    phrase = _patrons_named(phrase, patrons)
    ctx.aloud = {"type": "room.emote", "text": "{name} " + _patrons_named(" ".join([_third_person_verb(words[0].lower()),
                                                                     *(_third_person(w, names) for w in words[1:])]), patrons) + "."}
    rng = random.Random(f"{ctx.rng.random()}:{line}")  # a gesture leaves the game's version, so its seed, as it was
    watcher = named[0][1] if named else (rng.choice(people) if people and rng.random() < REACTED else None)
    text = f"You {phrase}."
    if watcher is not None:
        text += " " + rng.choice(REACTIONS).format(name=watcher.name)
    return text


def _patrons_named(text: str, patrons: tuple[str, ...]) -> str:
    """Another player's name as they chose it: "wave to alys" is seen as "waves to Alys"."""
    for patron in sorted(patrons, key=len, reverse=True):
        text = re.sub(rf"(?<![\w'-]){re.escape(patron)}(?![\w-])", lambda _: patron, text, flags=re.IGNORECASE)
    return text


def _name_parts(ctx: TurnContext) -> dict[str, tuple[str, NpcDef]]:
    """Each word of an NPC's name (of three letters or more), lower-cased -> (the word as written, the NPC)."""
    return {part.lower(): (part, npc) for npc in ctx.world.npcs.values()
            for part in re.findall(r"[A-Za-z][\w'-]*", npc.name) if len(part) > 2}


def _third_person(word: str, names: dict[str, tuple[str, NpcDef]]) -> str:
    """A word of the gesture as another player sees it: "my mug" is "their mug", names as written."""
    lower = word.lower()
    if lower.removesuffix("'s") in names:
        return names[lower.removesuffix("'s")][0] + ("'s" if lower.endswith("'s") else "")
    return _THIRD.get(lower, lower)


def _third_person_verb(verb: str) -> str:
    """The gesture's verb for someone else doing it: "wave" -> "waves", "cry" -> "cries", "watch" -> "watches"."""
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    return verb + "s"


def _second_person(word: str, names: dict[str, tuple[str, NpcDef]]) -> str:
    lower = word.lower()
    if lower.removesuffix("'s") in names:
        return names[lower.removesuffix("'s")][0] + ("'s" if lower.endswith("'s") else "")
    return _PERSON.get(lower, lower)
