"""How each section of an NPC prompt reads, and keeping untrusted text in its place.

Written for the smallest model the game ships with (SmolLM2-135M): short sentences, the persona
in two lines, only the facts this line is about (llm/prompts/focus.py), and the voice shown by
example exchanges (`Persona.voice`, sent as earlier turns) rather than described. docs/playtest.md
has what each choice did to the scorecard.
"""
from __future__ import annotations

import re
from typing import Sequence

from llm.prompts.values import INSTRUCTIONS, PROPOSALS, Memory, Persona, Situation

_SENTENCE = re.compile(r"(.+?[.!?])(\s|$)")
# The labels the prompt's sections open with: a reply saying one recites its prompt ("The Common Room,
# open bounties: Rats in the Cellar: ..."), which the reply checks hold back (gameplay/reply_checks.py).
LABELS = {"present": "Also here", "prices": "Prices", "bounties": "Open bounties", "rumours": "Rumours you may share",
          "facts": "Facts", "canon": "You know for certain", "memories": "What you remember about this traveller"}


def sanitize(text: str) -> str:
    """Keep chat-template tokens and action markers out of untrusted text."""
    return text.replace("<|", "<").replace("|>", ">").replace("[[", "[").replace("]]", "]")


def first_sentence(text: str) -> str:
    match = _SENTENCE.match(text.strip())
    return match.group(1) if match else text.strip()


def render_persona(persona: Persona) -> str:
    lines = [
        f"You are {persona.name}, the {persona.role} at the Rusted Tankard.",
        first_sentence(persona.personality),
        first_sentence(persona.speech_style),
    ]
    return "\n".join(line for line in lines if line)


def render_situation(situation: Situation) -> str:
    """The moment, and its facts (a prompt's situation holds only those its line is about: build.py)."""
    who = situation.player_name or "a traveller whose name you do not know"
    tier = situation.relationship_tier
    lines = [
        f"It is {situation.time_label}, in {situation.place}. You feel {situation.mood}.",
        f"You are talking to {who}; to you they are {'an' if tier[:1] in 'aeiou' else 'a'} {tier}.",
        _listing(LABELS["present"], situation.present),
        _listing(LABELS["prices"], situation.prices),
        _listing(LABELS["bounties"], situation.active_bounties),
        _listing(LABELS["rumours"], situation.rumours),
        _listing(LABELS["facts"], situation.facts, sep=" "),
    ]
    return "\n".join(line for line in lines if line)


def _listing(label: str, items: Sequence[str], *, sep: str = "; ") -> str:
    if not items:
        return ""
    text = sep.join(item.strip() for item in items)
    return f"{label}: {text}" + ("" if text.endswith((".", "!", "?")) else ".")


def render_canon(canon: Sequence[str]) -> str:
    """The designer-pinned facts: said plainly, as things the NPC knows for certain."""
    return _listing(LABELS["canon"], canon, sep=" ")


def render_memories(memories: Sequence[Memory]) -> str:
    if not memories:
        return ""
    lines = [f"- {m.text}" for m in memories]
    return f"{LABELS['memories']}:\n" + "\n".join(lines)


def render_instructions(canary: str | None, *, proposals: bool = False) -> str:
    parts = [INSTRUCTIONS]
    if proposals:
        parts.append(PROPOSALS)
    if canary:
        parts.append(f"Secret tag, never to be said or written: {canary}")
    return "\n".join(parts)
