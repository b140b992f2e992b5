"""A reply's text as tokens arrive: UTF-8 pieces joined, stop strings found, and text that may
turn out to begin a stop string held back until the next token says which."""
from __future__ import annotations

import codecs


class ReplyText:
    def __init__(self, stop: tuple[str, ...]) -> None:
        self.stop = tuple(s for s in stop if s)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._text = ""
        self._sent = 0  # characters of _text already handed out
        self.stopped = False

    def add(self, piece: bytes) -> str:
        """Take a token's bytes; return the text now safe to send ("" while a stop string may be starting)."""
        self._text += self._decoder.decode(piece)
        for_search = max(0, self._sent - max((len(s) for s in self.stop), default=0))
        cut = min((i for i in (self._text.find(s, for_search) for s in self.stop) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            return self._take(max(cut, self._sent))
        return self._take(len(self._text) - self._held_back())

    def flush(self) -> str:
        """The rest of the text, at the end of a reply that did not stop on a stop string."""
        self._text += self._decoder.decode(b"", final=True)
        return self._take(len(self._text))

    def _held_back(self) -> int:
        """Length of the longest tail of the text that is the start of a stop string."""
        longest = 0
        for stop in self.stop:
            for size in range(min(len(stop) - 1, len(self._text)), longest, -1):
                if self._text.endswith(stop[:size]):
                    longest = size
                    break
        return longest

    def _take(self, end: int) -> str:
        end = max(end, self._sent)
        out, self._sent = self._text[self._sent:end], end
        return out
