"""Line files of the playtest: loading, checking and naming the lines a run plays.

A line file is a JSON list. Each element is a line object, played in a fresh game of its own, or a
list of line objects (a conversation), played in order in one game. A line object is
`{"npc": slug, "text": str, "kind": one of KINDS, "id": optional str}` plus the scoring fields
(SCORING_FIELDS) that the runner copies into the transcript untouched. A line with no id gets
`<file stem>:<position>` (`lines:12`, or `lines:40.3` for turn 3 of conversation 40).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

KINDS = ("smalltalk", "lore", "prices", "rules", "premise", "injection", "recall", "canon", "asked")
SCORING_FIELDS = ("canary", "expect", "contradicts", "plant", "note")
LINE_FIELDS = frozenset({"npc", "text", "kind", "id", *SCORING_FIELDS})


class LineFileError(ValueError):
    """A line file that cannot be played; the message names the file and the entry."""


@dataclass(frozen=True)
class Line:
    """One thing the player says: to whom, the words, its kind, and what the scorecard needs."""

    id: str
    conversation: int
    turn: int
    npc: str
    text: str
    kind: str
    scoring: dict[str, Any] = field(default_factory=dict)
    grouped: bool = False  # part of a conversation (a list in the file), even of one line

    def as_turn(self) -> dict[str, Any]:
        """The line's part of a transcript row (the runner adds what happened)."""
        return {"id": self.id, "conversation": self.conversation, "turn": self.turn, "npc": self.npc,
                "text": self.text, "kind": self.kind, **self.scoring}

    def as_entry(self) -> dict[str, Any]:
        """The line as a line file holds it, its id written out."""
        return {"id": self.id, "npc": self.npc, "text": self.text, "kind": self.kind, **self.scoring}


def lines_load(path: str | Path, *, npcs: Iterable[str] | None = None) -> list[list[Line]]:
    """The conversations of a line file (a single line is a conversation of one turn). `npcs`: the
    slugs a line may address (checked when given). A bad file raises LineFileError."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LineFileError(f"{path}: no such line file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LineFileError(f"{path}: cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise LineFileError(f"{path}: not JSON ({exc})") from None
    return lines_parse(data, stem=path.stem, source=str(path), npcs=npcs)


def lines_parse(data: Any, *, stem: str, source: str = "", npcs: Iterable[str] | None = None) -> list[list[Line]]:
    """The conversations of a line file's parsed JSON (see `lines_load`)."""
    source = source or stem
    if not isinstance(data, list) or not data:
        raise LineFileError(f"{source}: a line file is a non-empty JSON list of lines and conversations")
    known = frozenset(npcs) if npcs is not None else None
    conversations, seen = [], set()
    for index, element in enumerate(data):
        if isinstance(element, dict):
            lines = [_line(element, stem, index, None, source, known)]
        elif isinstance(element, list) and element:
            lines = [_line(item, stem, index, turn, source, known) for turn, item in enumerate(element)]
        else:
            raise LineFileError(f"{source}: entry {index} is neither a line object nor a non-empty list of them")
        for line in lines:
            if line.id in seen:
                raise LineFileError(f"{source}: entry {index}: the id {line.id!r} is used twice")
            seen.add(line.id)
        conversations.append(lines)
    return conversations


def _line(raw: Any, stem: str, index: int, turn: int | None, source: str, known: frozenset[str] | None) -> Line:
    where = f"{source}: entry {index}" + (f", turn {turn}" if turn is not None else "")
    if not isinstance(raw, dict):
        raise LineFileError(f"{where}: a line is a JSON object with npc, text and kind")
    unknown = set(raw) - LINE_FIELDS
    if unknown:
        raise LineFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for name in ("npc", "text"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise LineFileError(f"{where}: {name!r} must be a non-empty string")
    if raw.get("kind") not in KINDS:
        raise LineFileError(f"{where}: 'kind' must be one of {', '.join(KINDS)} (got {raw.get('kind')!r})")
    if known is not None and raw["npc"] not in known:
        raise LineFileError(f"{where}: no NPC {raw['npc']!r} in the world (known: {', '.join(sorted(known))})")
    line_id = raw.get("id")
    if line_id is not None and (not isinstance(line_id, str) or not line_id.strip()):
        raise LineFileError(f"{where}: 'id' must be a non-empty string when given")
    if line_id is None:
        line_id = f"{stem}:{index}" if turn is None else f"{stem}:{index}.{turn}"
    scoring = {name: raw[name] for name in SCORING_FIELDS if name in raw}
    return Line(id=line_id, conversation=index, turn=turn or 0, npc=raw["npc"], text=raw["text"], kind=raw["kind"],
                scoring=scoring, grouped=turn is not None)


def lines_dump(conversations: list[list[Line]]) -> list:
    """The conversations as a line file (each line with its id): what a golden run keeps."""
    return [[line.as_entry() for line in c] if c[0].grouped else c[0].as_entry() for c in conversations]


def lines_count(conversations: list[list[Line]]) -> int:
    return sum(len(c) for c in conversations)


def lines_limit(conversations: list[list[Line]], limit: int | None) -> list[list[Line]]:
    """The first `limit` lines (a conversation cut short keeps its first turns); all when None."""
    if limit is None:
        return conversations
    kept, left = [], limit
    for conversation in conversations:
        if left <= 0:
            break
        kept.append(conversation[:left])
        left -= len(kept[-1])
    return kept
