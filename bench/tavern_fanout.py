"""Fan-out in a shared tavern: many players in one room, some of them talking to the NPCs, everyone
hearing every word said aloud and every reply as it streams. How long after the speaker gets a
frame of a reply does everyone else get it, and is anything lost?

Run from the project root (loopback only; each run makes its own servers and stops them):

    .venv/bin/python bench/tavern_fanout.py                        # 1 process, then 2 on Redis
    .venv/bin/python bench/tavern_fanout.py --processes 1 --seconds 30 --json var/tavern.json

For each configuration: a fake model (bench/fake_llm_server.py --varied: replies of about 40
tokens, a different one each time, at `--tokens-per-second` after `--first-token-delay`), the game server(s) (`--processes 1`: `manage.py
run` on a fresh SQLite file and the in-memory channel layer; `--processes 2`: two daphne processes
and a Celery worker on a fresh PostgreSQL database and a Redis database, the production layout), then `--players`
players who each GET `/tavern/<name>/` (a game of their own) and open its socket. Once all are in,
one of them says a word to each NPC present (the warm-up: not measured), then
`--talkers` of them speak aloud to an NPC present (a new line each time, waiting for the reply,
then 1-3 s of thought) for `--seconds`; every fourth line of each talker is a whisper.

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

Prints a Markdown table; `--json PATH` writes {"bench", "figures": [{"name", "value", "unit",
"target", "met"}], "machine", "command"}.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from websockets.asyncio.client import connect  # noqa: E402

from bench.loadtest import cpu_seconds  # noqa: E402
from bench._ws import (  # noqa: E402
    ROOT, GameServer, command_line, free_port, machine_load, markdown_table, new_game, percentile, stop_on_sigterm,
)

TAVERN = "bench-hall"
FINAL = {"npc.end", "error"}
SUBJECTS = ("the river", "the mill", "the north road", "the harvest", "the old well", "the captain", "the rats",
            "the weather", "the night watch", "the forest", "the price of ale", "the strangers in the corner")
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/9"  # a database no other bench or test of this repository uses (they flush theirs)
START_TIMEOUT = 90.0


# --- the servers -----------------------------------------------------------------------------------
class FakeModel:
    """bench/fake_llm_server.py in its own process (its threads would otherwise share this one's
    interpreter lock with the players whose timings are measured)."""

    def __init__(self, *, tokens_per_second: float, first_token_delay: float) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "fake_llm_server.py"), "--port", str(self.port),
             "--tokens-per-second", str(tokens_per_second), "--first-token-delay", str(first_token_delay), "--varied"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.process.stdout.readline()
        if "fake LLM at" not in line:
            raise RuntimeError(f"the fake model did not start: {line}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class RedisCluster:
    """Two daphne processes and a Celery worker (it embeds new memories, as in production) on a
    fresh PostgreSQL database and Redis database 9 (both emptied)."""

    def __init__(self, *, llm_base_url: str, env: dict[str, str]) -> None:
        import psycopg

        self.db = f"tankard_bench_{uuid.uuid4().hex[:10]}"
        self.admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
        self.admin.execute(f'CREATE DATABASE "{self.db}"')
        self._flush_redis()
        self.workdir = Path(tempfile.mkdtemp(prefix="tankard-bench-"))
        self.env = {**os.environ, **env, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{self.db}", "REDIS_URL": REDIS_URL,
                    "OPENAI_BASE_URL": llm_base_url, "OPENAI_API_KEY": "bench", "TANKARD_LLM_MODEL": "",
                    "DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "bench-key-not-secret", "DJANGO_SECURE_SSL_REDIRECT": "false",
                    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1"}
        done = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=300)
        if done.returncode:
            raise RuntimeError(f"migrate failed:\n{done.stderr[-3000:]}")
        self.ports = (free_port(), free_port())
        self.urls = [f"http://127.0.0.1:{port}" for port in self.ports]
        self.processes = [
            subprocess.Popen([str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1", "-p", str(port),
                              "tankard_site.asgi:application"], cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                             stdout=(self.workdir / f"daphne-{port}.log").open("wb"), stderr=subprocess.STDOUT)
            for port in self.ports
        ]
        for port, process in zip(self.ports, self.processes):
            _wait_for_port(port, process)
        self.worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "tankard_site", "worker", "-l", "warning", "-P", "solo",
             "--without-gossip", "--without-mingle", "--without-heartbeat"], cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
            stdout=(self.workdir / "celery.log").open("wb"), stderr=subprocess.STDOUT)

    def _flush_redis(self) -> None:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.flushdb()
        client.close()

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def stop(self) -> None:
        for process in (*self.processes, self.worker):
            process.terminate()
        for process in (*self.processes, self.worker):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.admin.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
        self.admin.close()
        self._flush_redis()


def _wait_for_port(port: int, process: subprocess.Popen) -> None:
    import socket

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"a server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"no server on port {port}")


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
    model = FakeModel(tokens_per_second=args.tokens_per_second, first_token_delay=args.first_token_delay)
    env = {"TANKARD_NEW_GAMES_PER_HOUR": "100000", "TANKARD_NEW_TAVERNS_PER_HOUR": "100000",
           "TANKARD_TURNS_PER_MINUTE": "1000", "TANKARD_REPLY_CACHE": "false", "TANKARD_MEMORY_USE_LLM": "false"}
    try:
        if processes == 1:
            with GameServer(llm_base_url=model.base_url, model="", env=env) as server:
                return await run_room([server.url], args, [server.pid])
        cluster = RedisCluster(llm_base_url=model.base_url, env=env)
        try:
            return await run_room(cluster.urls, args, cluster.pids)
        finally:
            cluster.stop()
    finally:
        model.stop()


def figures_of(label: str, m: dict, args) -> list[dict]:
    p99 = percentile(m["fanout"], 99)
    return [
        {"name": f"{label}: fan-out p50", "value": round(percentile(m["fanout"], 50) * 1000, 1), "unit": "ms", "target": "—", "met": True},
        {"name": f"{label}: fan-out p95", "value": round(percentile(m["fanout"], 95) * 1000, 1), "unit": "ms", "target": "—", "met": True},
        {"name": f"{label}: fan-out p99", "value": round(p99 * 1000, 1), "unit": "ms", "target": "< 100 ms",
         "met": bool(m["fanout"]) and p99 < 0.100},
        {"name": f"{label}: room.say p99 (after the line was sent)", "value": round(percentile(m["said_after"], 99) * 1000, 1),
         "unit": "ms", "target": "—", "met": True},
        {"name": f"{label}: room frames delivered", "value": m["delivered"], "unit": "frames", "target": "> 0", "met": m["delivered"] > 0},
        {"name": f"{label}: room frames lost", "value": m["lost"], "unit": "frames", "target": "= 0", "met": m["lost"] == 0},
        {"name": f"{label}: whispers overheard", "value": m["overheard"], "unit": "frames", "target": "= 0", "met": m["overheard"] == 0},
        {"name": f"{label}: lines unanswered", "value": m["unanswered"], "unit": "lines", "target": "= 0", "met": m["unanswered"] == 0},
        {"name": f"{label}: server (daphne) CPU per room frame delivered", "unit": "µs", "target": "—", "met": True,
         "value": round(1e6 * m["server_cpu"] / m["delivered"], 1) if m["delivered"] else None},
        {"name": f"{label}: replies heard with tokens joined (queued behind a send)", "value": m["joined"],
         "unit": "listener-replies", "target": "—", "met": True},
        {"name": f"{label}: lines said aloud / all lines", "value": f"{m['aloud']} / {m['lines']}", "unit": "lines", "target": "—", "met": True},
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


async def main_async(args) -> dict:
    figures = []
    for processes in [int(p) for p in args.processes.split(",") if p.strip()]:
        label = "1 process (SQLite)" if processes == 1 else f"{processes} daphne processes (Redis, PostgreSQL)"
        print(f"# {label}: {args.players} players, {args.talkers} talking for {args.seconds:g} s", flush=True)
        measured = await run_configuration(processes, args)
        figures += figures_of(label, measured, args)
    return {"bench": "tavern_fanout", "figures": figures,
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {machine_load()}",
            "command": command_line()}


def main(argv: list[str] | None = None) -> int:
    stop_on_sigterm()
    args = parse_args(argv)
    result = asyncio.run(main_async(args))
    print(markdown_table(["figure", "value", "unit", "target", "met"],
                         [[f["name"], f["value"], f["unit"], f["target"], "yes" if f["met"] else "NO"] for f in result["figures"]]))
    print(f"\n{result['machine']}\n{result['command']}")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0 if all(f["met"] for f in result["figures"]) else 1


if __name__ == "__main__":
    sys.exit(main())
