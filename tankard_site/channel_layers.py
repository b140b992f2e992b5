"""The embedded mode's channel layer: Channels' in-memory layer, sweeping out expired messages and
group memberships at most once a second. Channels' own sweeps on every receive, walking every
channel and every membership of the process each time: with a shared tavern relaying each token of
a reply to everyone in the room, that walk was the process's largest single cost (a third of its
time with fifty players in one room; bench/shared_tavern.py)."""
from __future__ import annotations

import time

from channels.layers import InMemoryChannelLayer

SWEEP_EVERY_SECONDS = 1.0


class SweepingInMemoryChannelLayer(InMemoryChannelLayer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._swept_at = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._swept_at >= SWEEP_EVERY_SECONDS:
            self._swept_at = now
            super()._clean_expired()
