"""The project's own set of the reply cache bench (bench/reply_cache.py): every line said to Gareth,
scored by the key its reply was kept under; what each phase served, and the keys a line's reply is
kept under (a canonical question's, or Gareth's own question that it is for him)."""
from __future__ import annotations


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Tally:
    """Per phase: lines, hits for the right question (`question_key`), exact repeats (the same words asked
    before, served from their own text key), false hits (anything else), misses."""

    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}
        self.cached_ms: list[float] = []
        self.all_cached_ms: list[float] = []  # every cached reply of every phase
        self.cached_lines: list[str] = []
        self.model_ms: list[float] = []

    def add(self, phase: str, *, line: str, expected: str | None, end: dict, elapsed: float, served: str | None) -> None:
        from llm.reply_cache.matcher import text_key

        row = self.rows.setdefault(phase, {"lines": 0, "hits": 0, "right": 0, "repeats": 0, "false": [], "misses": [], "pregen": 0,
                                           "ordered": []})
        if end.get("type") == "narration":  # an order the rules carried out ("I'd like a room for the night."): no reply, no cache
            row["ordered"].append(line)
            return
        row["lines"] += 1
        if end.get("source") not in {"cache", "pregen"}:
            self.model_ms.append(elapsed * 1000)
            if expected is not None:
                row["misses"].append(line)
            return
        self.cached_ms.append(elapsed * 1000)
        self.all_cached_ms.append(elapsed * 1000)
        self.cached_lines.append(line)
        row["hits"] += 1
        row["pregen"] += end.get("source") == "pregen"
        if expected is not None and served == question_key(expected):
            row["right"] += 1
        elif served == text_key(line, names=GARETH_NAMES) or (served or "").startswith("s:") and served == _own_key(line):
            row["repeats"] += 1
        else:
            row["false"].append((line, served))


GARETH_NAMES = ("Gareth Rusk", "Gareth", "Rusk")


GARETH_ALIASES: list = []  # the world's names, read once the world is loaded
GARETH_ASKED: list = []  # his editors' questions, read with them


def question_key(question: str) -> str:
    """The key Gareth's replies to a canonical question are kept under: the question's own, or the key
    of his own question that it is for him (`llm.reply_cache.asked.asked_owner`)."""
    from llm.reply_cache.asked import asked_owner

    owner = asked_owner(question, asked=GARETH_ASKED[0]) if GARETH_ASKED else None
    return owner.key if owner is not None else f"q:{question}"


def _own_key(line: str) -> str:
    """The key a line's own reply is kept under when it asks no canonical question (its signature)."""
    from llm.reply_cache import question_match, signature_match

    found = question_match(line, names=GARETH_NAMES)
    return signature_match(found, line, names=GARETH_NAMES, aliases=GARETH_ALIASES[0]).key


def served_question() -> str | None:
    from llm.models import ReplyServe

    serve = ReplyServe.objects.select_related("entry").order_by("-id").first()
    return serve.entry.question if serve and serve.entry else None
