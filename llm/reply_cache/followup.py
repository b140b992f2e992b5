"""Whether a line said later in a conversation stands alone: the rule that lets the reply cache
answer more than a player's first line to an NPC.

A later line may be answered from the cache only when its right reply does not depend on what was
said before. It does when the line
- answers what the NPC just asked ("What'll it be?" / "The cheapest, then."),
- points back at the conversation: a pronoun with nothing in the line to stand for ("Does he pocket
  it?", "Which one?", "Who told you that?"), a word of the last exchange that the cache has no
  meaning for ("What happened to the goat?" after a tale of a goat), or talk of what was said
  ("what I told you", "you said", "remember");
- is a fragment or a continuation ("And for two nights?", "Why not?", "Tell me more", "the other one").

Everything else about the conversation (the player's memories, the turns before) the cached reply
never drew on: replies are kept only from prompts that held neither (`services.reply_cache_keep`),
so serving one to a later line can give away nothing said by anyone.
"""
from __future__ import annotations

import re

from .signature import Aliases, plain_words, signature
from .wordlists import ASPECTS, MODIFIERS

_WORD = re.compile(r"[a-z0-9']+")
# Said at the start, these make the line hang on what came before.
OPENERS = ("and", "but", "or", "then", "what about", "how about", "and what about", "so what about", "since when",
           "why not", "how so", "like what", "such as", "is that so", "are you sure", "you sure", "which one",
           "what else", "anything else", "who else")
# Anywhere in the line, these point at the conversation itself.
BACK_REFERENCES = re.compile(
    r"\b(?:more|else|again|instead|either|another|other|others|rest|same|too|also|as well|the first|the second|"
    r"the last one|the other|you said|you say|you told|you mentioned|you just|i said|i told|i asked|i mentioned|"
    r"i just said|what i said|what i told|as i said|like i said|remember|earlier|before that|that one|this one|"
    r"which one|the one)\b")
PRONOUNS_PERSON = frozenset("he she him her his hers they them their theirs himself herself themselves".split())
PRONOUNS_THING = frozenset("it its one ones".split())
DEMONSTRATIVES = frozenset("that this those these".split())
QUESTION_STARTS = frozenset(("what who whom whose where when why how which is are am was were do does did can could "
                             "would will shall should may might have has had any anything got tell").split())


def follow_up_reason(line: str, *, previous_reply: str | None, previous_line: str | None = None,
                     names: tuple[str, ...] = (), aliases: Aliases = Aliases(), canonical: bool = False) -> str | None:
    """Why `line`, said after `previous_line` got `previous_reply`, depends on the conversation
    (a short reason), or None when it stands alone. `names`: how the NPC may be addressed;
    `canonical`: the line asks one of the canonical questions (which need no topic of their own)."""
    words = plain_words(line, names=names)
    text = " ".join(words)
    if not words:
        return "empty"
    if previous_reply and _asks(previous_reply) and not _is_question(line, words):
        return "answer"
    if any(text == o or text.startswith(o + " ") for o in OPENERS):
        return "opener"
    if BACK_REFERENCES.search(text):
        return "back-reference"
    sig = signature(line, names=names, aliases=aliases)
    topics = set(sig.known) - ASPECTS - MODIFIERS - {"you"}
    if not canonical and not topics and not sig.unknown:
        return "no-topic"  # "why won't you tell me?", "really?": about what was just said
    pronoun = _dangling_pronoun(words, has_person=_has_person(line, sig), has_thing=bool(topics or sig.unknown))
    if pronoun:
        return f"pronoun:{pronoun}"
    said = _stems(previous_reply) | _stems(previous_line)
    shared = set(sig.unknown) & said
    if shared:
        return f"said-before:{sorted(shared)[0]}"
    return None


def stands_alone(line: str, **kwargs) -> bool:
    return follow_up_reason(line, **kwargs) is None


def _asks(reply: str) -> bool:
    """Whether the NPC's reply ends on a question to the player."""
    return reply.rstrip(" \"'\u201d)").endswith("?")


def _is_question(line: str, words: list[str]) -> bool:
    return "?" in line or words[0] in QUESTION_STARTS


def _has_person(line: str, sig) -> bool:
    return any(c.startswith("npc:") or c in {"family", "people"} for c in sig.known) or bool(
        re.search(r"(?<![.!?:]\s)(?<!^)\b[A-Z][a-z]+", line.strip()))


def _dangling_pronoun(words: list[str], *, has_person: bool, has_thing: bool) -> str | None:
    """A pronoun with nothing before it in the line to stand for."""
    for i, word in enumerate(words):
        if word in PRONOUNS_PERSON and not has_person:
            return word
        if word in PRONOUNS_THING and not (has_thing and i > 0) or (
                word == "it" and has_thing and not any(w not in _FUNCTION for w in words[:i]) and words[i + 1:i + 2] != []
                and words[i + 1] not in _IT_OF_THE_DAY):
            return word  # "Is it any good?": nothing before "it" for it to stand for
        if word in DEMONSTRATIVES and (i == len(words) - 1 or words[i + 1] in _NOT_A_NOUN or (i > 0 and words[i - 1] in _AUX)):
            return word  # "is that fair", "does that include", "who told you that"; not "that old tankard"
    return None


_NOT_A_NOUN = frozenset("is was are were the a an one of for to in on at with about".split())
_AUX = frozenset("is was are were do does did will would can could has have had should may might".split())
# After "it", these make it the day's or the world's "it", not a thing said before ("is it true", "is it far to").
_IT_OF_THE_DAY = frozenset("true possible far safe wise worth late early raining snowing cold warm hot always usually often "
                           "busy quiet loud too still dark light said".split())
_FUNCTION = QUESTION_STARTS | _AUX | _NOT_A_NOUN | frozenset("so well then ok okay oh and but or i you me we my your our".split())


def _stems(text: str | None) -> set[str]:
    if not text:
        return set()
    return set(signature(text).unknown)
