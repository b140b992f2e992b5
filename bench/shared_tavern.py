"""Fan-out in a shared tavern: many players in one room, some of them talking to the NPCs, everyone
hearing every word said aloud and every reply as it streams. How long after the speaker gets a
frame of a reply does everyone else get it, and is anything lost?

Run from the project root (loopback only; each run makes its own servers and stops them):

    .venv/bin/python bench/shared_tavern.py                        # 1 process, then 2 on Redis
    .venv/bin/python bench/shared_tavern.py --processes 1 --seconds 30 --json var/tavern.json

For each configuration: a fake model (bench/fake_llm_server.py --varied: replies of about 40
tokens, a different one each time, at `--tokens-per-second` after `--first-token-delay`), the game
server(s) (`--processes 1`: `manage.py run` on a fresh SQLite file and the in-memory channel layer;
`--processes 2`: the production set of bench/_servers.py, two daphne processes, a Celery worker and
beat on a fresh PostgreSQL database and Redis), then `--players` players who each GET
`/tavern/<name>/` (a game of their own) and open its socket. Once all are in, one of them says a
word to each NPC present (the warm-up: not measured), then `--talkers` of them speak aloud to an NPC
present (a new line each time, waiting for the reply, then 1-3 s of thought) for `--seconds`; every
fourth line of each talker is a whisper.

Measured, per configuration:
- fan-out: for every frame of every reply said aloud (`room.npc.start`, each token, `room.npc.end`),
  the time from the speaker receiving its own frame (`npc.start`, `npc.token`, `npc.end`) to each
  other player receiving the room's: the time the room adds, beyond the model's own (target: p99
  < 100 ms). Tokens the server joined into one `room.npc.token` (while a send was slow) are each
  timed by the room frame that brought their last character;
- `room.say`: from the speaker sending the line to the others hearing it (this includes the turn's
  preparation, not the model);
- lost: room frames a player present throughout did not get (every exchange, every token);
- whispers overheard: frames any other player got holding a whisper's words; unanswered lines.

Prints a Markdown table; `--json PATH` writes the figures as bench/report.py describes (for
`./tankard bench`). The 2-process configuration is left out, saying why, where PostgreSQL or Redis
does not answer.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from websockets.asyncio.client import connect  # noqa: E402

from bench import report  # noqa: E402  (first: it notes the load average at the start)
from bench._servers import FakeLLMProcess, GameServer, ProductionServers, cpu_seconds, production_unavailable  # noqa: E402
from bench._ws import markdown_table, new_game, percentile, stop_on_sigterm  # noqa: E402

TAVERN = "bench-hall"
FINAL = {"npc.end", "error"}
SUBJECTS = ("the river", "the mill", "the north road", "the harvest", "the old well", "the captain", "the rats",
            "the weather", "the night watch", "the forest", "the price of ale", "the strangers in the corner")


# --- the players -----------------------------------------------------------------------------------
@dataclass
class Exchange:
    """One line a talker said (aloud or whispered) and what came back to them."""

    speaker: int
    id: str
    text: str
    private: bool
    sent_at: float
    own: list[tuple[float, dict]] = field(default_factory=list)  # the speaker's frames for this id
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Player:
    """One socket. Room frames are kept as they arrive (time and text) and read after the run, so
    that timing them costs this process as little as possible while fifty sockets are busy."""

    def __init__(self, index: int, url: str, cookie: str) -> None:
        self.index, self.url, self.cookie = index, url, cookie
        self.heard: list[tuple[float, str]] = []
        self.mine: dict[str, Exchange] = {}
        self.npcs: list[str] = []
        self.ready = asyncio.Event()
        self.ws = None
        self.reader: asyncio.Task | None = None

    async def open(self) -> None:
        ws_url = self.url.replace("http://", "ws://", 1) + f"/ws/play/?tavern={TAVERN}"
        self.ws = await connect(ws_url, origin=self.url, additional_headers={"Cookie": self.cookie}, open_timeout=30,
                                max_size=2**20, max_queue=None)
        self.reader = asyncio.create_task(self._read())
        await asyncio.wait_for(self.ready.wait(), 30)

    @property
    def frames(self) -> list[tuple[float, dict]]:
        return [(at, json.loads(raw)) for at, raw in self.heard]

    async def _read(self) -> None:
        async for raw in self.ws:
            now = time.perf_counter()
            if raw.startswith('{"type": "room.'):
                self.heard.append((now, raw))
                continue
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "state":
                self.npcs = [n["slug"] for n in frame.get("npcs", [])]
            elif kind == "history":
                self.ready.set()
            exchange = self.mine.get(frame.get("reply_to") or "")
            if exchange is not None:
                exchange.own.append((now, frame))
                if kind in FINAL:
                    exchange.done.set()

    async def talk(self, until: float, rng: random.Random, reply_timeout: float) -> None:
        n = 0
        while time.perf_counter() < until:
            n += 1
            npc = rng.choice(self.npcs or ["gareth"])
            private = n % 4 == 0
            text = (f"psst, {secrets.token_hex(6)}: keep it quiet" if private
                    else f"T{self.index}-{n}: what do you know of {rng.choice(SUBJECTS)}?")
            exchange = Exchange(self.index, f"t{self.index}-{n}", text, private, time.perf_counter())
            self.mine[exchange.id] = exchange
            frame = {"type": "say", "id": exchange.id, "npc": npc, "text": text}
            if private:
                frame["private"] = True
            exchange.sent_at = time.perf_counter()
            await self.ws.send(json.dumps(frame))
            try:
                await asyncio.wait_for(exchange.done.wait(), reply_timeout)
            except TimeoutError:
                pass
            await asyncio.sleep(rng.uniform(1.0, 3.0))

    async def warm_up(self) -> None:
        for n, npc in enumerate(self.npcs or ["gareth"]):
            exchange = Exchange(self.index, f"warm-{n}", f"Good evening, {npc}.", False, time.perf_counter())
            self.mine[exchange.id] = exchange
            await self.ws.send(json.dumps({"type": "say", "id": exchange.id, "npc": npc, "text": exchange.text}))
            await asyncio.wait_for(exchange.done.wait(), 120)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            await asyncio.gather(self.reader, return_exceptions=True)


async def run_room(urls: list[str], args, pids: list[int]) -> dict:
    """Seat the players (spread over `urls`), let the talkers talk, and measure (with the CPU time
    the server processes `pids` spent meanwhile)."""
    players = []
    for i in range(args.players):
        url = urls[i % len(urls)]
        game = await new_game(url, path=f"/tavern/{TAVERN}/")
        players.append(Player(i, url, game.cookie))
    for start in range(0, len(players), 10):  # come in ten at a time
        await asyncio.gather(*(p.open() for p in players[start:start + 10]))
    await players[0].warm_up()  # each NPC answers once before the clock starts: models, clients and caches loaded
    await asyncio.sleep(2.0)  # the last arrivals, and the warm-up's frames, told to everyone
    for p in players:
        p.heard.clear()
        p.mine.clear()
    rng = random.Random(args.seed)
    until = time.perf_counter() + args.seconds
    talkers = players[:args.talkers]
    cpu_before = sum(cpu_seconds(pid) or 0.0 for pid in pids)
    await asyncio.gather(*(p.talk(until, random.Random(rng.random()), args.reply_timeout) for p in talkers))
    await asyncio.sleep(2.0)  # the last room frames on their way
    figures = measure(players, talkers)
    figures["server_cpu"] = sum(cpu_seconds(pid) or 0.0 for pid in pids) - cpu_before
    for p in players:
        await p.close()
    return figures


def measure(players: list[Player], talkers: list[Player]) -> dict:
    fanout, said_after, lost, delivered, overheard, unanswered, aloud, joined = [], [], 0, 0, 0, 0, 0, 0
    heard: dict[int, dict[str, dict[str, list]]] = {}  # listener -> said -> kind -> [(at, frame)]
    said_of_text: dict[str, str] = {}
    frames = {p.index: p.frames for p in players}
    for p in players:
        book = heard.setdefault(p.index, {})
        for at, frame in frames[p.index]:
            said = frame.get("said")
            if said is None:
                continue
            book.setdefault(said, {}).setdefault(frame["type"], []).append((at, frame))
            if frame["type"] == "room.say":
                said_of_text[frame["text"]] = said
    whispers = [e.text for t in talkers for e in t.mine.values() if e.private]
    for p in players:
        blob = json.dumps([f for _, f in frames[p.index]])
        overheard += sum(1 for w in whispers if w in blob and not any(w == e.text for e in p.mine.values()))
    for talker in talkers:
        for exchange in talker.mine.values():
            final = next((f for _, f in exchange.own if f["type"] in FINAL), None)
            if final is None or final["type"] != "npc.end":
                unanswered += 1
                continue
            if exchange.private:
                continue
            aloud += 1
            said = said_of_text.get(exchange.text)
            own_start = next((at for at, f in exchange.own if f["type"] == "npc.start"), None)
            own_tokens = [(at, f["text"]) for at, f in exchange.own if f["type"] == "npc.token"]
            own_ends = list(itertools.accumulate(len(text) for _, text in own_tokens))
            own_end = next(at for at, f in exchange.own if f["type"] == "npc.end")
            for listener in players:
                if listener is talker:
                    continue
                got = heard.get(listener.index, {}).get(said or "", {})
                expected = 3 + len(own_tokens)  # room.say, room.npc.start, the tokens, room.npc.end
                says, starts = got.get("room.say", []), got.get("room.npc.start", [])
                tokens, ends = got.get("room.npc.token", []), got.get("room.npc.end", [])
                # Tokens queued behind a slow send reach the room joined: each of the speaker's
                # tokens is timed by the room frame that brought its last character.
                heard_ends = list(itertools.accumulate(len(f["text"]) for _, f in tokens))
                heard_text = "".join(f["text"] for _, f in tokens)
                spoken_text = "".join(text for _, text in own_tokens)
                covered = 0
                for (own_at, _), end in zip(own_tokens, own_ends):
                    at = next((t for (t, _), e in zip(tokens, heard_ends) if e >= end), None)
                    if at is None or not heard_text.startswith(spoken_text[:end]):
                        break
                    fanout.append(at - own_at)
                    covered += 1
                joined += len(tokens) < covered
                received = len(says[:1]) + len(starts[:1]) + covered + len(ends[:1])
                delivered += received
                lost += expected - received
                if says:
                    said_after.append(says[0][0] - exchange.sent_at)
                if starts and own_start is not None:
                    fanout.append(starts[0][0] - own_start)
                if ends:
                    fanout.append(ends[0][0] - own_end)
                    if ends[0][1]["text"] != final["text"]:
                        lost += 1
    return {"fanout": fanout, "said_after": said_after, "lost": lost, "delivered": delivered, "overheard": overheard,
            "unanswered": unanswered, "aloud": aloud, "lines": sum(len(t.mine) for t in talkers), "joined": joined}


# --- one configuration -------------------------------------------------------------------------------
async def run_configuration(processes: int, args) -> dict:
    with FakeLLMProcess(tokens_per_second=args.tokens_per_second, first_token_delay=args.first_token_delay, varied=True) as model:
        if processes == 1:
            with GameServer(llm_base_url=model.base_url, model="fake-model", env={"TANKARD_NEW_GAMES_PER_HOUR": "100000"}) as server:
                return await run_room([server.url], args, [server.pid])
        with ProductionServers(llm_base_url=model.base_url, daphnes=processes) as servers:
            return await run_room(servers.urls, args, servers.pids)


def figures_of(label: str, m: dict) -> list[dict]:
    def fig(name: str, value: float, unit: str, target: str = "") -> dict:
        return report.figure(name, round(value, 1) if isinstance(value, float) else value, unit, target)

    return [
        fig(f"{label}: fan-out p50", 1000 * percentile(m["fanout"], 50), "ms"),
        fig(f"{label}: fan-out p95", 1000 * percentile(m["fanout"], 95), "ms"),
        fig(f"{label}: fan-out p99", 1000 * percentile(m["fanout"], 99), "ms", "< 100 ms"),
        fig(f"{label}: room.say p99 (after the line was sent)", 1000 * percentile(m["said_after"], 99), "ms"),
        fig(f"{label}: room frames delivered", m["delivered"], "frames", "> 0"),
        fig(f"{label}: room frames lost", m["lost"], "frames", "= 0"),
        fig(f"{label}: whispers overheard", m["overheard"], "frames", "= 0"),
        fig(f"{label}: lines unanswered", m["unanswered"], "lines", "= 0"),
        fig(f"{label}: server (daphne) CPU per room frame delivered",
            1e6 * m["server_cpu"] / m["delivered"] if m["delivered"] else float("nan"), "µs"),
        fig(f"{label}: replies heard with tokens joined (queued behind a send)", m["joined"], "listener-replies"),
        fig(f"{label}: lines said aloud (the rest whispered)", m["aloud"], f"of {m['lines']} lines"),
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="1,2", help="configurations to run: 1 (SQLite, in-memory layer), 2 (daphne x2 on Redis)")
    parser.add_argument("--players", type=int, default=50)
    parser.add_argument("--talkers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the talkers talk")
    parser.add_argument("--tokens-per-second", type=float, default=20.0)
    parser.add_argument("--first-token-delay", type=float, default=0.2)
    parser.add_argument("--reply-timeout", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", dest="json_path", help="write the figures here as JSON")
    return parser.parse_args(argv)


LABELS = {1: "1 process (SQLite)", 2: "2 daphne processes (Redis, PostgreSQL)"}


async def main_async(args) -> list[dict]:
    figures = []
    for processes in [int(p) for p in args.processes.split(",") if p.strip()]:
        label = LABELS.get(processes, f"{processes} daphne processes (Redis, PostgreSQL)")
        if processes > 1 and (why := production_unavailable()):
            print(f"# {label}: not run ({why})", flush=True)
            continue
        print(f"# {label}: {args.players} players, {args.talkers} talking for {args.seconds:g} s", flush=True)
        figures += figures_of(label, await run_configuration(processes, args))
    return figures


def main(argv: list[str] | None = None) -> int:
    stop_on_sigterm()
    args = parse_args(argv)
    figures = asyncio.run(main_async(args))
    print(markdown_table(["figure", "value", "unit", "target", "met"],
                         [[f["name"], f["value"], f["unit"], f["target"] or "—",
                           {True: "yes", False: "NO", None: "—"}[f["met"]]] for f in figures]))
    print(f"\n{report.machine()}\n{report.command()}")
    report.write(args.json_path, "shared_tavern", figures)
    return 0 if all(f["met"] is not False for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
