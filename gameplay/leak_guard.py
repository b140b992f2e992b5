"""The leak guard: a reply never gives away the prompt's canary, nor recites the instructions or the
character sheet word for word (the values a reply may repeat, the moment's and what the NPC knows,
are cut out of what is protected first). Streamed, a piece at a time, before the player sees it."""
from __future__ import annotations

import re
from functools import lru_cache

from llm.prompts import sanitize
from npcs.persona import NpcDef, npc_persona_values

CANARY = "TANKARD-CANARY-7f3a"  # in every NPC prompt; never to be said
LEAK_RUN_WORDS = 8  # this many words in a row of a protected prompt text, in a reply, are a leak
_WORD = re.compile(r"[^\W_]+")


def shareable_values(situation, npc: NpcDef | None = None) -> list[str]:
    """The prompt's values a reply may repeat word for word: the moment (place, time, prices, rumours,
    bounties, who is here) and what the NPC knows, looks like and typically says."""
    values = [v for v in vars(situation).values() if isinstance(v, str)]
    values += [item for v in vars(situation).values() if isinstance(v, tuple) for item in v if isinstance(item, str)]
    if npc is not None:
        persona = npc_persona_values(npc)
        values += [persona["name"], persona["role"], persona["appearance"], *persona["knows"],
                   *(text for pair in persona["voice"] for text in pair)]
    return values


def protected_text(system: str, *, shareable: list[str]) -> str:
    """What a reply must never recite: the system prompt without its shareable values, that is the
    instructions, the prompt's own sentences and the character sheet (personality, secrets)."""
    return _protected(system, tuple(shareable))


@lru_cache(maxsize=256)  # players meeting an NPC in the same moment share its system prompt: cut it once
def _protected(system: str, shareable: tuple[str, ...]) -> str:
    for value in sorted({v for raw in shareable if len(raw) > 2 for v in (raw, sanitize(raw))}, key=len, reverse=True):
        system = _cut_whole(system, value)  # whole words: a name "e" cuts little
    return system


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"  # what `\w` matches


def _cut_whole(text: str, value: str) -> str:
    r"""`text` with every whole-word occurrence of `value` replaced by a line break: what
    `re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", "\n", text)` gives, found with `str.find` (a
    reply's guard is built before its request goes out, so this is on the way to the first token)."""
    pieces, start, at = [], 0, text.find(value)
    while at != -1:
        end = at + len(value)
        if (at == 0 or not _is_word(text[at - 1])) and (end == len(text) or not _is_word(text[end])):
            pieces += (text[start:at], "\n")
            start = end
            at = text.find(value, end)
        else:
            at = text.find(value, at + 1)
    return "".join(pieces) + text[start:] if pieces else text


def _squashed(text: str) -> tuple[str, list[int]]:
    """Letters and digits only, lower-cased, with where each came from: "T.A n-K" reads "tank"."""
    chars, where = [], []
    for i, ch in enumerate(text):
        if ch.isalnum():
            low = ch.lower()
            chars.append(low if len(low) == 1 else ch)
            where.append(i)
    return "".join(chars), where


@lru_cache(maxsize=64)  # an NPC's protected text repeats while the moment does: built once per reply is on the way to its first token
def _runs(text: str) -> frozenset[tuple[str, ...]]:
    """Every LEAK_RUN_WORDS words in a row within a line (a cut-out value ends a line)."""
    runs = set()
    for line in text.splitlines():
        words = [w.lower() for w in _WORD.findall(line)]
        runs.update(tuple(words[i:i + LEAK_RUN_WORDS]) for i in range(len(words) - LEAK_RUN_WORDS + 1))
    return frozenset(runs)


class LeakGuard:
    """Streams the shown text of a reply, as MarkerFilter does for markers: `feed` each piece, show
    what it returns, then show `flush()`. A tail that could be the start of the canary is held back
    until the next pieces rule it out; once the canary (in any case, spacing or punctuation) or a
    long verbatim run of the protected text appears, `leaked` is set and nothing more is released."""

    def __init__(self, *, canary: str, protected: str = "") -> None:
        self._canary = _squashed(canary)[0]
        self._runs = _runs(protected)
        self._text = ""
        self._squashed, self._where = "", []  # the letters and digits so far, and where each came from
        self._words: list[tuple[int, str]] = []  # (start, word) so far; the last one may still grow
        self._released = 0
        self.leaked = False

    def feed(self, text: str) -> str:
        """Work per piece is bounded by the piece, the canary and LEAK_RUN_WORDS, not the reply."""
        if self.leaked or not text:
            return ""
        offset = len(self._text)
        self._text += text
        squashed, where = _squashed(text)
        self._squashed += squashed
        self._where += [offset + i for i in where]
        seen = self._squashed[-(len(squashed) + len(self._canary)):]
        if (self._canary and self._canary in seen) or self._recites():
            self.leaked = True
            return ""
        start = max(0, len(self._squashed) - len(self._canary) + 1)
        held = next((i for i in range(start, len(self._squashed)) if self._canary.startswith(self._squashed[i:])), None)
        return self._release(len(self._text) if held is None else self._where[held])

    def flush(self) -> str:
        """The held tail, at the end of the reply; a tail that is most of the canary is a leak."""
        if self.leaked:
            return ""
        if len(_squashed(self._text[self._released:])[0]) > len(self._canary) // 2:
            self.leaked = True
            return ""
        return self._release(len(self._text))

    def _recites(self) -> bool:
        """Whether a run of LEAK_RUN_WORDS words ending in the new ones is protected; the last few
        words are read again, since a piece may have lengthened the last of them."""
        kept = self._words[:-LEAK_RUN_WORDS] if len(self._words) > LEAK_RUN_WORDS else []
        again_from = self._words[len(kept)][0] if len(self._words) > len(kept) else 0
        self._words = kept + [(m.start(), m.group().lower()) for m in _WORD.finditer(self._text, again_from)]
        words = [w for _, w in self._words]
        first = max(0, len(kept) - LEAK_RUN_WORDS + 1)
        return any(tuple(words[i:i + LEAK_RUN_WORDS]) in self._runs for i in range(first, len(words) - LEAK_RUN_WORDS + 1))

    def _release(self, upto: int) -> str:
        out = self._text[self._released:upto]
        self._released = max(self._released, upto)
        return out


def leak_found(text: str, *, protected: str = "") -> bool:
    """Whether a whole reply gives away the canary or recites the protected text."""
    guard = LeakGuard(canary=CANARY, protected=protected)
    guard.feed(text)
    guard.flush()
    return guard.leaked
