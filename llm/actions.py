"""Actions an NPC proposes in its reply, and keeping their markers out of the player's sight.

The model may end a reply with markers such as `[[action: give_item ale]]`. `parse_actions` splits
a finished reply into the text to show and the proposed actions; `MarkerFilter` does the showing
part while tokens stream in, so a marker never appears, even split across tokens. Whether an
action is allowed is for gameplay to decide.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

logger = logging.getLogger(__name__)

SLUG_ACTIONS = frozenset({"give_item", "offer_job", "offer_bounty", "reveal_rumour"})
AMOUNT_ACTIONS = frozenset({"relationship"})
ACTION_NAMES = SLUG_ACTIONS | AMOUNT_ACTIONS

# A marker takes the whitespace before it along, so "Here. [[...]]" leaves "Here.".
_MARKER = re.compile(r"\s*\[\[(.*?)\]\]", re.DOTALL)
_UNFINISHED = re.compile(r"\s*\[\[.*\Z", re.DOTALL)
_BODY = re.compile(r"\s*action\s*:\s*([a-z_]+)\s+(\S+)\s*\Z", re.IGNORECASE)
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}\Z")
_AMOUNT = re.compile(r"[+-]?\d{1,3}\Z")


@dataclass(frozen=True)
class ProposedAction:
    """`give_item ale` is ProposedAction("give_item", slug="ale"); `relationship +1` has amount=1."""

    name: str
    slug: str | None = None
    amount: int | None = None


def parse_actions(text: str) -> tuple[str, tuple[ProposedAction, ...]]:
    """(text to show, proposed actions). Malformed markers are dropped with a warning."""
    actions = []
    for match in _MARKER.finditer(text):
        action = parse_marker(match.group(1))
        if action is None:
            logger.warning("Dropped a malformed action marker: %r", match.group(0).strip())
        else:
            actions.append(action)
    unfinished = _UNFINISHED.search(_MARKER.sub("", text))
    if unfinished:
        logger.warning("Dropped an unfinished action marker: %r", unfinished.group(0).strip()[:80])
    return clean_reply(text), tuple(actions)


def parse_marker(body: str) -> ProposedAction | None:
    """The action in a marker's body (`action: give_item ale`), or None when malformed."""
    match = _BODY.match(body)
    if not match:
        return None
    name, argument = match.group(1).lower(), match.group(2).lower()
    if name in SLUG_ACTIONS and _SLUG.match(argument):
        return ProposedAction(name, slug=argument)
    if name in AMOUNT_ACTIONS and _AMOUNT.match(argument):
        return ProposedAction(name, amount=int(argument))
    return None


def clean_reply(text: str) -> str:
    """The reply without any marker, finished or not, and without surrounding whitespace.

    Every step is local (an unfinished marker is looked for in the original text, after the last
    finished one), so the clean form of a prefix is a prefix of the clean form: streaming can show
    text early and never take it back."""
    last_end = max((m.end() for m in _MARKER.finditer(text)), default=0)
    unfinished = text.find("[[", last_end)
    if unfinished != -1:
        text = text[:unfinished]
    return _MARKER.sub("", text).strip()


def _settled(raw: str) -> str:
    """The part of the shown text that no continuation of `raw` can change any more."""
    last_end = 0
    for match in _MARKER.finditer(raw):
        last_end = match.end()
    unsettled_from = raw.find("[[", last_end)
    if unsettled_from == -1:
        unsettled_from = len(raw) - 1 if raw.endswith("[") else len(raw)
    # Trailing whitespace waits too: a marker that follows would take it along.
    return clean_reply(raw[:unsettled_from].rstrip())


class MarkerFilter:
    """Streams the shown text: `feed` each token, show what it returns, then show `flush()`.

    The concatenated output equals `clean_reply` of the whole text.
    """

    def __init__(self) -> None:
        self._raw: list[str] = []
        self._shown = 0

    @property
    def text(self) -> str:
        """Everything fed so far, markers included (for `parse_actions` at the end)."""
        return "".join(self._raw)

    def feed(self, token: str) -> str:
        self._raw.append(token)
        return self._advance(_settled(self.text))

    def flush(self) -> str:
        return self._advance(clean_reply(self.text))

    def _advance(self, shown: str) -> str:
        new = shown[self._shown:]
        self._shown = max(self._shown, len(shown))
        return new
