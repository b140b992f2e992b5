"""Summaries of folded conversation: the model's prompt and its checks, and the extractive fallback.

`ask_model` is the one place memory calls the model (a background-priority `complete_sync`); it
returns None when the model cannot be had. A model summary must read as prose and share words with
what it summarises, or `summary_clean` rejects it and `summary_extract` (the most important
sentences, in order, within a size) is used instead.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from llm.client import PRIORITY_BACKGROUND, complete_sync
from llm.errors import LLMError
from llm.prompts import sanitize, truncate_to_tokens

from .conf import memory_config
from .facts import facts_extract
from .importance import importance_heuristic

logger = logging.getLogger(__name__)

SUMMARY_MAX_CHARS = 400  # about 100 tokens: a summary must stay a small part of a memory budget
SUMMARY_REPLY_TOKENS = 140
TRANSCRIPT_TOKENS = 1100  # leaves room for the instructions and the reply in a 2048 context
EXTRACT_SENTENCES = 3
KNOWN_FACT_FACTOR = 0.5  # a sentence the fact patterns caught is pinned already: summaries need it less

SUMMARY_INSTRUCTIONS = (
    "You keep short notes for {npc}, who works at the Rusted Tankard tavern. Summarise the conversation "
    "below in at most three short sentences, in the third person (\"The player ...\", \"{npc} ...\"). Keep names, "
    "places, numbers, promises, debts and strong feelings. Write only the summary."
)
MERGE_INSTRUCTIONS = (
    "You keep short notes for {npc}, who works at the Rusted Tankard tavern. Combine the notes below, oldest "
    "first, into at most four sentences in the third person. Keep names, places, numbers, promises and debts; "
    "drop small talk. Write only the combined notes."
)


@dataclass(frozen=True)
class Line:
    """One thing to summarise: a raw record (speaker "player", "npc" or "" for an observation) or a summary."""

    speaker: str
    text: str
    importance: float


def ask_model(messages: Sequence[Mapping[str, str]], *, max_tokens: int) -> str | None:
    """The model's answer, or None when it is switched off or unavailable (never raises LLMError)."""
    if not memory_config().use_llm:
        return None
    try:
        return complete_sync(messages, priority=PRIORITY_BACKGROUND, max_tokens=max_tokens, temperature=0.2).text
    except LLMError as error:
        logger.info("Memory model call failed (%s); using the fallback.", error.kind)
        return None


def _transcript(lines: Sequence[Line], npc_name: str) -> str:
    rendered = []
    for line in lines:
        who = {"player": "Player", "npc": npc_name}.get(line.speaker, "Seen")
        rendered.append(f"{who}: {sanitize(line.text[:300])}")
    return truncate_to_tokens("\n".join(rendered), TRANSCRIPT_TOKENS)


def summary_messages(lines: Sequence[Line], *, npc_name: str, merging: bool) -> list[dict[str, str]]:
    instructions = MERGE_INSTRUCTIONS if merging else SUMMARY_INSTRUCTIONS
    body = "\n".join(sanitize(line.text) for line in lines) if merging else _transcript(lines, npc_name)
    return [
        {"role": "system", "content": instructions.format(npc=npc_name)},
        {"role": "user", "content": truncate_to_tokens(body, TRANSCRIPT_TOKENS)},
    ]


_PREFIX = re.compile(r"^\s*(summary|notes?|combined notes)\s*:\s*", re.IGNORECASE)
_CONTENT_WORD = re.compile(r"[a-z]{4,}")
_STOP = frozenset("that this with have from they their what your will would there were about which when".split())


def summary_clean(answer: str | None, lines: Sequence[Line]) -> str | None:
    """The model's summary made tidy, or None when it is junk (empty, not prose, or unrelated)."""
    if not answer:
        return None
    text = " ".join(_PREFIX.sub("", answer.replace("[[", "[").replace("]]", "]")).split())
    words = text.split()
    letters = sum(ch.isalpha() for ch in text)
    if len(words) < 5 or letters < 0.6 * len(text.replace(" ", "")):
        return None
    source = {w for line in lines for w in _CONTENT_WORD.findall(line.text.lower())} - _STOP
    shared = set(_CONTENT_WORD.findall(text.lower())) & source
    if len(shared) < 2:
        return None
    return _cut(text, SUMMARY_MAX_CHARS)


def summary_extract(lines: Sequence[Line], *, npc_name: str, merging: bool) -> str:
    """The most important sentences, in their order, within SUMMARY_MAX_CHARS."""
    candidates: list[tuple[float, int, str]] = []
    for order, line in enumerate(lines):
        for sentence in _sentences(line.text):
            score = 0.5 * line.importance + 0.5 * importance_heuristic(sentence, speaker=line.speaker)
            if facts_extract(sentence):
                score *= KNOWN_FACT_FACTOR
            rendered = sentence if merging else _attributed(line.speaker, sentence, npc_name)
            candidates.append((score, order, rendered))
    chosen: list[tuple[int, str]] = []
    size = 0
    for score, order, rendered in sorted(candidates, key=lambda c: (-c[0], c[1])):
        if len(chosen) == EXTRACT_SENTENCES:
            break
        if size + len(rendered) + 1 > SUMMARY_MAX_CHARS:
            continue
        chosen.append((order, rendered))
        size += len(rendered) + 1
    text = " ".join(rendered for _, rendered in sorted(chosen, key=lambda c: c[0]))
    return text or _cut(f"{npc_name} and the player talked a while.", SUMMARY_MAX_CHARS)


def summary_write(lines: Sequence[Line], *, npc_name: str, merging: bool = False) -> tuple[str, str]:
    """(summary text, "model" or "extractive")."""
    answer = ask_model(summary_messages(lines, npc_name=npc_name, merging=merging), max_tokens=SUMMARY_REPLY_TOKENS)
    cleaned = summary_clean(answer, lines)
    if cleaned is not None:
        return cleaned, "model"
    if answer is not None:
        logger.info("Memory summary from the model was junk (%r); using the extractive one.", answer[:80])
    return summary_extract(lines, npc_name=npc_name, merging=merging), "extractive"


_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+[\"')\]]*|$)")  # a closing quote stays with its sentence


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if len(s.split()) >= 2] or ([text.strip()] if text.strip() else [])


def _attributed(speaker: str, sentence: str, npc_name: str) -> str:
    sentence = _cut(sentence.replace('"', "'"), 200)
    if speaker == "player":
        return f'The player said: "{sentence}"'
    if speaker == "npc":
        return f'{npc_name} said: "{sentence}"'
    return f"{npc_name} saw: {sentence}"


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;: ") + "…"
