"""Shared parts of the LLM benchmarks (`llm_ttft.py`, `look_latency.py`): fresh games over plain
HTTP, a websocket player that timestamps every frame as it arrives, and percentiles and Markdown
tables (the servers they play against are in `_servers.py`). Loopback only; every wait is bounded."""
from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import random
import re
import shlex
import signal
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
FINAL_TYPES = {"narration", "npc.end", "error"}


def command_line() -> str:
    """How this benchmark was started, to print above its results."""
    return " ".join(shlex.quote(a) for a in [".venv/bin/python", os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])


def stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so every `finally` (and the servers' cleanup) runs."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"{url}: loopback addresses only")


def machine_load() -> str:
    """The load averages and core count, to print beside the numbers."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


# --- games and players ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class NewGame:
    cookie: str  # "sessionid=..."
    game_id: str


async def new_game(url: str, timeout: float = 20.0, *, path: str = "/") -> NewGame:
    """GET / (or `path`, such as a shared tavern's page) with no cookie: a fresh session, hence a
    fresh game (its id is on the page)."""
    parts = urlsplit(url)
    reader, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port or 80), timeout)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\nUser-Agent: tankard-bench\r\n\r\n".encode())
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    head, _, body = raw.decode("utf-8", "replace").partition("\r\n\r\n")
    cookie = re.search(r"(?im)^set-cookie:\s*(sessionid=[^;\r\n]+)", head)
    game_id = re.search(r'data-game-id="([0-9a-f-]+)"', body)
    if not head.startswith("HTTP/1.1 200") or cookie is None or game_id is None:
        raise RuntimeError(f"GET {path} gave no fresh game: {head.splitlines()[:1]}")
    return NewGame(cookie.group(1), game_id.group(1))


@dataclass
class Pending:
    """One sent message: when it left, and when its frames came back (perf_counter seconds)."""

    sent_at: float
    first_token_at: float | None = None
    final_at: float | None = None
    final: dict | None = None
    tokens: int = 0
    thinking: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)
    first_token: asyncio.Event = field(default_factory=asyncio.Event)


class Player:
    """One websocket to one game. A reader task timestamps each frame the moment it is parsed and
    files it under its `reply_to`; `send` returns the message's `Pending`."""

    def __init__(self, url: str, game: NewGame) -> None:
        self.url, self.game = url, game
        self.pending: dict[str, Pending] = {}
        self.ws = None
        self._reader: asyncio.Task | None = None
        self._ready = asyncio.Event()

    async def open(self, timeout: float = 20.0) -> Player:
        ws_url = self.url.replace("http://", "ws://", 1).rstrip("/") + "/ws/play/"
        self.ws = await connect(ws_url, origin=self.url.rstrip("/"), additional_headers={"Cookie": self.game.cookie},
                                open_timeout=timeout, max_size=2**20)
        self._reader = asyncio.create_task(self._read())
        await asyncio.wait_for(self._ready.wait(), timeout)  # the `history` frame ends the greeting
        return self

    async def _read(self) -> None:
        async for raw in self.ws:
            now = time.perf_counter()
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "history":
                self._ready.set()
            pending = self.pending.get(frame.get("reply_to") or "")
            if pending is None:
                continue
            if kind == "npc.token":
                pending.tokens += 1
                if pending.first_token_at is None:
                    pending.first_token_at = now
                    pending.first_token.set()
            elif kind == "npc.thinking":
                pending.thinking = True
            elif kind in FINAL_TYPES:
                pending.final_at, pending.final = now, frame
                pending.first_token.set()
                pending.done.set()

    async def send(self, frame: dict) -> Pending:
        pending = Pending(sent_at=0.0)
        self.pending[frame["id"]] = pending
        text = json.dumps(frame)
        pending.sent_at = time.perf_counter()
        await self.ws.send(text)
        return pending

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)


# --- numbers -------------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return "–" if seconds != seconds else f"{seconds * 1000:.1f}"


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def median_interval(values: list[float], rounds: int = 2000) -> tuple[float, float]:
    """A 95 % bootstrap interval of the median (fixed seed: the same samples give the same interval)."""
    rng = random.Random(0)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(rounds))
    return medians[int(rounds * 0.025)], medians[int(rounds * 0.975) - 1]
