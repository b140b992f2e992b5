"""Releasing a streamed reply a sentence at a time: between the model's stream and the player, each
sentence is checked (`reply_checks.sentence_check`) once it ends, and shown only when it passes; an
opener to a false claim ("Pay up?") waits for the denial after it. The reply path (voice.py) stops
the stream after MAX_SENTENCES, and asks again or falls back when a sentence fails."""
from __future__ import annotations

import re

from .reply_checks import ReplyFrame, Verdict, opener, sentence_check
from .reply_world import CheckWorld

_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
MAX_SENTENCES = 2


def sentences_ended(text: str) -> int:
    """How many sentences of a streamed text have ended where `SentenceGate` ends one (an end mark,
    then a space): with MAX_SENTENCES of them the game stops the stream (bench/llm_concurrency.py
    stops its straight requests at the same place)."""
    return len(_BOUNDARY.findall(text))


class SentenceGate:
    """Between the model's stream and the player: `feed` the text as it comes and show what it
    returns, a whole checked sentence at a time; `finish` at the end of the stream. After a sentence
    fails, `failed` holds its verdict and nothing more is released; after MAX_SENTENCES, `full` is
    set (the caller stops the stream: the instructions ask for one or two)."""

    def __init__(self, *, frame: ReplyFrame, world: CheckWorld, max_sentences: int = MAX_SENTENCES) -> None:
        self.frame, self.world, self.max_sentences = frame, world, max_sentences
        self._pending = ""
        self._held = ""  # an opener ("Pay up?") to a false claim, shown only with the denial after it
        self.released: list[str] = []
        self.corrections = 0
        self.failed: Verdict | None = None

    @property
    def full(self) -> bool:
        return len(self.released) >= self.max_sentences

    @property
    def text(self) -> str:
        return "".join(self.released).strip()

    def feed(self, text: str) -> str:
        if self.failed is not None or self.full:
            return ""
        self._pending += text
        out = []
        while not self.full and self.failed is None and (match := _BOUNDARY.search(self._pending)):
            sentence, self._pending = self._pending[: match.end()], self._pending[match.end():]
            out.append(self._release(sentence))
        return "".join(out)

    def finish(self, *, complete: bool) -> str:
        """The rest of the stream: a last sentence without a full stop is kept when the model ended
        the reply itself (`complete`), dropped when it was cut by the length limit, unless it is all
        there is."""
        rest, self._pending = self._pending, ""
        if self.failed is None and not self.full and rest.strip() and (complete or not self.released):
            shown = self._release(rest)
        else:
            shown = ""
        if self._held and self.failed is None:  # the reply ended on its opener: the claim was never turned down
            self.failed, self._held = Verdict(False, self._held.strip(), "premise"), ""
        return shown

    def _release(self, sentence: str) -> str:
        lead = sentence[: len(sentence) - len(sentence.lstrip())]
        # A reply that opened with a question or an exclamation ("Promised you that, did I?") still owes the denial.
        due = all(opener(shown.strip()) for shown in self.released)
        verdict = sentence_check(sentence, frame=self.frame, world=self.world, first=not self.released, deny_due=due,
                                 before=self.text)
        if not verdict.ok:
            self.failed = verdict
            return ""
        self.corrections += verdict.reason == "price_corrected"
        shown = ("" if not self.released and not self._held else lead or " ") + verdict.text
        if self.frame.premise_open and due and opener(verdict.text):
            self._held += shown  # "Pay up?" alone would go along with the claim: wait for what follows
            return ""
        held, self._held = self._held, ""
        if held:
            self.released.append(held)
        self.released.append(shown)
        return held + shown
