"""What a narrated moment must be before the player reads it. The narrator (a 135M model by
default) wanders: it speaks as "I", recites the room's price list, invents towns and people, or
has the player bleed. A narration is shown only as its first sentence, and only when that sentence
is about the player doing what they typed ("You ..."), in English, names nobody the world lacks
and nobody who is not in the room, and changes nothing the rules own. Otherwise the game says the
gesture plainly, or tells the player what they can do (gameplay.rules.emotes, engine.not_understood)."""
from __future__ import annotations

import re
from collections.abc import Iterable

from llm.prompts.narration import EXAMPLES
from npcs.canon import english_words

from .reply_checks import anachronism
from .reply_world import CheckWorld
from .rules.deeds import AIMED_ONLY, KINDS

MIN_WORDS, MAX_WORDS = 4, 32
COPIED_WORDS = 3
_SENTENCE = re.compile(r"^(.+?[.!?])(?=\s|$)", re.DOTALL)
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'll|I'd)\b|\b(?i:me|my|mine|myself|we|us|our)\b")
_FORBIDDEN_MARKS = re.compile(r"[\"“”:;\d*#\[\]<>]")
# What only the rules change, or what no gesture in a tavern brings about.
_EFFECTS = re.compile(r"\b(?:gold|coins?|silver|copper|purse|steal\w*|stole\w*|grab\w*|kill\w*|dies|died|dead|death|"
                      r"blood\w*|bleed\w*|murder\w*|stab\w*|hands you|gives? you|gave you|handed you|pockets?)\b", re.IGNORECASE)
# A deed the rules would have stopped (gameplay/rules/deeds.py), narrated as done ("..., and punch him";
# not the verbs that are deeds only when aimed at someone: "You kick back and relax.").
_DEEDS = re.compile(r"\b(?:" + "|".join(sorted(set().union(*KINDS.values()) - AIMED_ONLY, key=len, reverse=True))
                    + r")(?:e?s|e?d|ing|[bgpt](?:ed|ing))?\b|\bset fire\b|\bon fire\b|\bablaze\b", re.IGNORECASE)
_CAPITAL = re.compile(r"(?<![\w'-])([A-Z][a-z'-]+)")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_OPENERS = re.compile(r"^(?:i|i'll|i will|let me|let's|try to|go and)\s+", re.IGNORECASE)
ENGLISH_SHARE = 0.6


def narration_kept(text: str, *, line: str, present: Iterable[str], world: CheckWorld, plain: bool = False) -> str | None:
    """The narration's first sentence when it may be shown, else None. `present`: the names of the
    NPCs in the room (any form that holds their name); `world`: the reply checks' world; `plain`:
    without a tail after a comma (`_tail_cut`), for the default small model."""
    first = text.strip().split("\n", 1)[0].strip()
    match = _SENTENCE.match(first)
    if match is None:
        return None  # cut off before its first sentence ended
    sentence = match.group(1).strip()
    words = _WORD.findall(sentence)
    if not sentence.startswith("You ") or not MIN_WORDS <= len(words) <= MAX_WORDS:
        return None
    if _FIRST_PERSON.search(sentence) or _FORBIDDEN_MARKS.search(sentence) or _EFFECTS.search(sentence) or _DEEDS.search(sentence):
        return None
    if not _about_the_line(words, line) or not _reads_english(words) or not _names_known(sentence, line, present, world):
        return None
    if anachronism(sentence, line):  # "You check your phone." for "look around"
        return None
    kept = _examples_cut(sentence)
    return _tail_cut(kept, line, present) if plain else kept


def _tail_cut(sentence: str, line: str, present: Iterable[str]) -> str:
    """The sentence up to its first comma, when that part already does what the line says and the
    rest names nobody in the room. The 135M model ends most narrations with a clause that means
    little ("You pet the cat, a fine example of your kind.", "You hit the hay, a common place.");
    a reaction of someone present ("..., and Wren laughs.") is kept."""
    head, comma, tail = sentence.partition(",")
    if not comma or not _about_the_line(_WORD.findall(head), line):
        return sentence
    here = {w.lower() for name in present for w in _CAPITAL.findall(name)}  # "Gareth Rusk the barkeep": Gareth, Rusk
    if here & {w.lower().removesuffix("'s") for w in _WORD.findall(tail)}:
        return sentence
    return head.rstrip() + "."


def _examples_cut(sentence: str) -> str:
    """The sentence without an ending copied from the prompt's examples ("..., ready for whatever the
    night brings."): cut at the clause that copies COPIED_WORDS of an example's own words in a row."""
    words = [(m.group(0).lower(), m.start()) for m in _WORD.finditer(sentence)]
    for example_line, said in EXAMPLES:
        own = [w.lower() for w in _WORD.findall(said)][1 + len(_WORD.findall(example_line)):]  # past "You <the line>"
        grams = {tuple(own[i:i + COPIED_WORDS]) for i in range(len(own) - COPIED_WORDS + 1)}
        for i in range(len(words) - COPIED_WORDS + 1):
            if tuple(w for w, _ in words[i:i + COPIED_WORDS]) in grams:
                head = sentence[: words[i][1]]
                head = head[: head.rfind(",")] if "," in head else head
                return re.sub(r"(?:\s+(?:and|as|while|by|with|ready|for))+\s*$", "", head.rstrip(" ,")) + "."
    return sentence


def _about_the_line(words: list[str], line: str) -> bool:
    """The sentence does what the line says: the line's first word (its verb) is in it, by its stem."""
    said = _WORD.findall(_OPENERS.sub("", line.strip()))
    if not said:
        return False
    verb = said[0].lower()
    stem = verb[:4] if len(verb) > 4 else verb
    return any(w.lower().startswith(stem) for w in words[1:])


def _reads_english(words: list[str]) -> bool:
    lexicon = english_words()
    if not lexicon:
        return True
    plain = [w.lower().split("'")[0] for w in words]
    return sum(w in lexicon or w.rstrip("s") in lexicon or w.removesuffix("ed") in lexicon for w in plain) >= ENGLISH_SHARE * len(plain)


def _names_known(sentence: str, line: str, present: Iterable[str], world: CheckWorld) -> bool:
    """Every capitalised word past the first is a name the world or the line uses, and a person
    named is in the room."""
    here = {w.lower() for name in present for w in _WORD.findall(name)}
    said = {w.lower() for w in _WORD.findall(line)}
    for match in _CAPITAL.finditer(sentence):
        if match.start() == 0:
            continue
        word = match.group(1).lower().removesuffix("'s")
        if word not in world.names and word not in said:
            return False
        if word in world.npc_names and word not in here:
            return False
    return True
