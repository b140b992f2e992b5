"""Drive many concurrent games over websockets and measure what a player would feel.

Run from the project root against running servers (loopback addresses only):

    .venv/bin/python bench/loadtest.py --url http://127.0.0.1:8000 --steps 50,100,200 \
        --step-seconds 60 --pid 12345

or let it start them (bench/_servers.py: the fake LLM server, 32 tokens at 20 a second after 0.2 s,
and either one embedded `manage.py run` on a fresh SQLite file, or the production set: a fresh
PostgreSQL database, Redis, two daphne processes, a Celery worker and beat):

    .venv/bin/python bench/loadtest.py --serve embedded --steps 50,100,200 --step-seconds 40
    .venv/bin/python bench/loadtest.py --serve production --steps 50,100,200 --step-seconds 40

Each game is one simulated player: `GET /` for its own session cookie (a new game), then the
websocket `/ws/play/` with that cookie, then a command every 1-3 s (a human's pace, under the
default limit of 40 turns a minute), waiting for each final frame before thinking again. The mix
is the game's everyday verbs (look, buy, drink, go, work, status, board, gamble) and NPC talk
(`say` to an NPC the last state frame shows present). With several `--url`s, games are spread
over them round-robin (the production mode: several daphne processes).

Games join in steps (`--steps 50,100,200`): each step adds games, then runs `--step-seconds`. Per
step it reports p50/p95/p99 latency per message type (send -> final frame; for `say`, also the
first `npc.token`), final frames by kind, errors, and the RSS of the `--pid` processes read from
/proc at the end of the step. At the end, ids that never got their final frame are reported as
lost. Everything is bounded: connections, waits and the whole run have deadlines.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import resource
import sys
import time
from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report as bench_report  # noqa: E402
from bench._servers import cpu_seconds, servers_start  # noqa: E402
from bench._ws import check_loopback  # noqa: E402

FINAL_TYPES = {"narration", "npc.end", "error"}
GAME_REFUSALS = {"not_allowed", "unknown_command", "npc_absent", "unknown_npc", "npc_busy"}
MIX = {"look": 12, "status": 6, "buy": 12, "drink": 8, "go": 16, "work": 6, "board": 6, "gamble": 6, "say": 28}
# Players word things their own way: NPC lines are drawn from many combinations, so the reply cache
# is not handed the same seven questions over and over.
OPENERS = ("Tell me about", "What do you know of", "Any news about", "Have you heard anything about", "What's the story with",
           "I keep hearing about", "Be honest with me about", "What do folk say about", "Can you tell me about", "Ever seen")
SUBJECTS = ("the cellar", "the rats", "the road north", "the harvest", "the dice den", "the old well", "the captain",
            "the guest rooms", "your family", "the weather", "the price of ale", "the strangers in the corner",
            "the missing tankard", "the lute player", "the river crossing", "the night watch", "the mill", "the forest",
            "the last winter", "this tavern")
REPLY_TIMEOUT = 60.0


@dataclass
class Stats:
    """Samples of one step: latencies in seconds per message type, and counters."""

    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    first_token: list[float] = field(default_factory=list)
    finals: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    sources: Counter = field(default_factory=Counter)
    sent: int = 0
    samples: list[tuple[float, str, float]] = field(default_factory=list)  # (sent at, type, seconds) for --samples


@dataclass
class Pending:
    kind: str
    sent_at: float
    stats: Stats
    first_token_at: float | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Run:
    """The shared state of one load test: the current step's stats and every unanswered id."""

    def __init__(self) -> None:
        self.stats = Stats()
        self.pending: dict[str, Pending] = {}
        self.stop_sending = asyncio.Event()
        self.connected = 0
        self.failed_connects: Counter = Counter()


# --- one player ------------------------------------------------------------------------------------
async def http_get_session(url: str, timeout: float = 20.0) -> str:
    """GET / and return the `sessionid` cookie (a plain HTTP/1.1 request: no cookie jar to share)."""
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 80
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(f"GET / HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\nUser-Agent: tankard-loadtest\r\n\r\n".encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    if status != 200:
        raise RuntimeError(f"GET / answered {status}")
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "set-cookie" and value.strip().startswith("sessionid="):
            return value.strip().split(";", 1)[0]
    raise RuntimeError("GET / set no sessionid cookie")


@dataclass
class View:
    """What the player knows from the last state frame."""

    location: str = ""
    exits: list[str] = field(default_factory=list)
    npcs: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    inventory: list[str] = field(default_factory=list)

    def update(self, state: dict) -> None:
        self.location = state["location"]["slug"]
        self.exits = [e["name"].lower().removeprefix("the ") for e in state["location"].get("exits", [])]
        self.npcs = [n["slug"] for n in state.get("npcs", [])]
        self.suggestions = list(state.get("suggestions", []))
        self.inventory = [i["slug"] for i in state.get("inventory", [])]


def next_message(view: View, rng: random.Random, msg_id: str) -> tuple[str, dict]:
    """A realistic next message for this player: a verb from the mix, shaped by where they are."""
    kind = rng.choices(list(MIX), weights=list(MIX.values()))[0]
    if kind == "say" and view.npcs:
        return "say", {"type": "say", "id": msg_id, "npc": rng.choice(view.npcs), "text": f"{rng.choice(OPENERS)} {rng.choice(SUBJECTS)}?"}
    if kind == "say":
        kind = "look"
    text = {
        "look": "look", "status": "status", "board": "board", "work": "work", "gamble": "dice 2",
        "buy": next((s for s in view.suggestions if s.startswith("buy ")), "buy ale"),
        "drink": f"drink {rng.choice(view.inventory)}" if view.inventory else "drink ale",
        "go": f"go to {rng.choice(view.exits)}" if view.exits else "look",
    }[kind]
    return kind, {"type": "command", "id": msg_id, "text": text}


def on_frame(run: Run, view: View, frame: dict) -> None:
    kind = frame.get("type")
    if kind == "state":
        view.update(frame)
        return
    pending = run.pending.get(frame.get("reply_to") or "")
    if pending is None:
        return
    now = time.monotonic()
    if kind == "npc.token" and pending.first_token_at is None:
        pending.first_token_at = now
        pending.stats.first_token.append(now - pending.sent_at)
    if kind not in FINAL_TYPES:
        return
    del run.pending[frame["reply_to"]]
    stats = pending.stats
    stats.latency[pending.kind].append(now - pending.sent_at)
    stats.samples.append((pending.sent_at, pending.kind, now - pending.sent_at))
    code = frame.get("code", "")
    stats.finals[f"error:{code}" if kind == "error" else kind] += 1
    if kind == "error" and code not in GAME_REFUSALS:
        stats.errors[code] += 1
    if kind == "npc.end":
        stats.sources[frame.get("source", "?")] += 1
    pending.done.set()


async def player(run: Run, index: int, url: str, seed: int, deadline: float) -> None:
    rng = random.Random(seed)
    prefix = f"g{index}-{rng.randrange(16**6):06x}"
    ids = itertools.count(1)
    try:
        cookie = await http_get_session(url)
        ws_url = url.replace("http", "ws", 1).rstrip("/") + "/ws/play/"
        ws = await connect(ws_url, origin=url.rstrip("/"), additional_headers={"Cookie": cookie}, open_timeout=20, max_size=2**20)
    except Exception as exc:
        run.failed_connects[f"{type(exc).__name__}: {exc}"[:100]] += 1
        return
    run.connected += 1
    view = View()
    reader = asyncio.create_task(read_frames(run, ws, view))
    try:
        await asyncio.sleep(rng.uniform(0.5, 2.0))
        while not run.stop_sending.is_set() and time.monotonic() < deadline and not reader.done():
            msg_id = f"{prefix}-{next(ids)}"
            kind, message = next_message(view, rng, msg_id)
            pending = Pending(kind=kind, sent_at=time.monotonic(), stats=run.stats)
            run.pending[msg_id] = pending
            run.stats.sent += 1
            await ws.send(json.dumps(message))
            try:
                await asyncio.wait_for(pending.done.wait(), REPLY_TIMEOUT)
            except asyncio.TimeoutError:
                pass  # still pending: counted as lost unless it arrives before the end
            try:  # think, like a player reading the answer; the end of the run interrupts
                await asyncio.wait_for(run.stop_sending.wait(), rng.uniform(1.0, 3.0))
            except asyncio.TimeoutError:
                pass
    finally:
        await finish(run, ws, reader, prefix)


async def finish(run: Run, ws, reader: asyncio.Task, prefix: str, grace: float = REPLY_TIMEOUT) -> None:
    """Wait (bounded) for this player's outstanding finals, then close."""
    end = time.monotonic() + grace
    while any(k.startswith(prefix + "-") for k in run.pending) and time.monotonic() < end and not reader.done():
        await asyncio.sleep(0.2)
    await ws.close()
    reader.cancel()


async def read_frames(run: Run, ws, view: View) -> None:
    try:
        async for raw in ws:
            on_frame(run, view, json.loads(raw))
    except ConnectionClosed as exc:
        if exc.rcvd is None or exc.rcvd.code != 1000:
            run.stats.errors["socket_closed"] += 1
    except asyncio.CancelledError:
        raise


# --- measuring -------------------------------------------------------------------------------------
def rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MB, from /proc (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def step_report(games: int, seconds: float, stats: Stats, rss: dict[int, float | None], cpu: dict[int, float | None]) -> dict:
    rows = {}
    for kind, values in sorted(stats.latency.items()):
        rows[kind] = {"n": len(values), "p50_ms": percentile(values, 50) * 1000, "p95_ms": percentile(values, 95) * 1000,
                      "p99_ms": percentile(values, 99) * 1000, "max_ms": max(values) * 1000}
    if stats.first_token:
        v = stats.first_token
        rows["say first token"] = {"n": len(v), "p50_ms": percentile(v, 50) * 1000, "p95_ms": percentile(v, 95) * 1000,
                                   "p99_ms": percentile(v, 99) * 1000, "max_ms": max(v) * 1000}
    non_llm = [x for k, v in stats.latency.items() if k != "say" for x in v]
    return {
        "games": games, "seconds": round(seconds, 1), "sent": stats.sent, "rate_per_s": round(stats.sent / seconds, 1) if seconds else 0,
        "latency": rows,
        "non_llm": {"n": len(non_llm), "p50_ms": percentile(non_llm, 50) * 1000, "p95_ms": percentile(non_llm, 95) * 1000,
                    "p99_ms": percentile(non_llm, 99) * 1000},
        "finals": dict(stats.finals), "errors": dict(stats.errors), "say_sources": dict(stats.sources),
        "rss_mb": {str(pid): (round(v, 1) if v is not None else None) for pid, v in rss.items()},
        "cpu_percent": {str(pid): (round(100 * v / seconds, 1) if v is not None else None) for pid, v in cpu.items()},
        "cpu_ms_per_message": round(1000 * sum(v for v in cpu.values() if v) / stats.sent, 1) if stats.sent else None,
        "loadavg_1min": round(os.getloadavg()[0], 2),
    }


def print_step(report: dict, baseline: dict[int, float | None]) -> None:
    print(f"\n== {report['games']} games, {report['seconds']} s, {report['sent']} messages ({report['rate_per_s']}/s)")
    print(f"{'type':<16}{'n':>7}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for kind, row in report["latency"].items():
        print(f"{kind:<16}{row['n']:>7}{row['p50_ms']:>10.1f}{row['p95_ms']:>10.1f}{row['p99_ms']:>10.1f}{row['max_ms']:>10.1f}")
    nl = report["non_llm"]
    print(f"{'all non-LLM':<16}{nl['n']:>7}{nl['p50_ms']:>10.1f}{nl['p95_ms']:>10.1f}{nl['p99_ms']:>10.1f}")
    print(f"finals: {report['finals']}")
    print(f"say sources: {report['say_sources']}  errors: {report['errors'] or 'none'}")
    print(f"server CPU: {report['cpu_percent']} % ({report['cpu_ms_per_message']} ms a message); "
          f"load client CPU: {report.get('client_cpu_percent')} %; machine load average {report['loadavg_1min']}")
    for pid, mb in report["rss_mb"].items():
        base = baseline.get(int(pid))
        per_game = (mb - base) * 1024 / report["games"] if mb is not None and base is not None else float("nan")
        print(f"pid {pid}: RSS {mb} MB (baseline {base and round(base, 1)} MB, +{per_game:.0f} KB per game)")


# --- the run ---------------------------------------------------------------------------------------
async def main_async(args: argparse.Namespace) -> dict:
    run = Run()
    steps = [int(s) for s in args.steps.split(",")]
    total_seconds = len(steps) * (args.step_seconds + steps[-1] / args.join_rate) + REPLY_TIMEOUT * 2 + 30
    hard_deadline = time.monotonic() + total_seconds
    baseline = {pid: rss_mb(pid) for pid in args.pid}
    print(f"baseline RSS: {{{', '.join(f'{p}: {v and round(v, 1)} MB' for p, v in baseline.items())}}}")
    players: list[asyncio.Task] = []
    reports = []
    for games in steps:
        for index in range(len(players), games):
            url = args.url[index % len(args.url)]
            players.append(asyncio.create_task(player(run, index, url, args.seed + index, hard_deadline)))
            await asyncio.sleep(1.0 / args.join_rate)
        run.stats = Stats()  # measure the step once all its games have joined
        started, cpu_before = time.monotonic(), {pid: cpu_seconds(pid) for pid in args.pid}
        usage = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = usage.ru_utime + usage.ru_stime
        await asyncio.sleep(args.step_seconds)
        cpu = {pid: (after - cpu_before[pid]) if after is not None and cpu_before[pid] is not None else None
               for pid, after in ((p, cpu_seconds(p)) for p in args.pid)}
        report = step_report(games, time.monotonic() - started, run.stats, {pid: rss_mb(pid) for pid in args.pid}, cpu)
        report["connected"], report["failed_connects"] = run.connected, dict(run.failed_connects)
        client_cpu_now = resource.getrusage(resource.RUSAGE_SELF)
        report["client_cpu_percent"] = round(100 * (client_cpu_now.ru_utime + client_cpu_now.ru_stime - client_cpu) / (time.monotonic() - started), 1)
        print_step(report, baseline)
        if args.samples:
            report["samples"] = [(round(t - started, 3), kind, round(d * 1000, 1)) for t, kind, d in run.stats.samples]
        reports.append(report)
    run.stop_sending.set()
    await asyncio.wait(players, timeout=max(1.0, hard_deadline - time.monotonic()))
    lost = sorted(run.pending)
    for task in players:
        task.cancel()
    summary = {"baseline_rss_mb": {str(p): v for p, v in baseline.items()}, "steps": reports, "lost": len(lost), "lost_ids": lost[:20],
               "connected": run.connected, "failed_connects": dict(run.failed_connects), "urls": args.url}
    print(f"\nconnected {run.connected} games, failed connects: {dict(run.failed_connects) or 'none'}, replies lost: {len(lost)}")
    return summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Drive concurrent games over websockets and report latency, losses and memory.")
    parser.add_argument("--url", action="append", help="a server's base URL (repeat for several processes); loopback only")
    parser.add_argument("--serve", choices=("embedded", "production"),
                        help="start the servers (and the fake LLM) for this run instead of --url and --pid")
    parser.add_argument("--steps", default="50,100,200", help="total games after each step, e.g. 50,100,200")
    parser.add_argument("--step-seconds", type=float, default=60.0, help="how long each step plays once its games joined")
    parser.add_argument("--join-rate", type=float, default=10.0, help="new games per second while a step ramps up")
    parser.add_argument("--pid", type=int, action="append", default=[], help="a server process whose RSS to report (repeat)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="write the figures here, for ./tankard bench (bench/report.py)")
    parser.add_argument("--raw", help="write every step's results here")
    parser.add_argument("--samples", action="store_true", help="with --raw: every latency sample, to see when slow ones happen")
    args = parser.parse_args(argv)
    if args.serve and (args.url or args.pid):
        parser.error("--serve starts its own servers: no --url or --pid with it")
    args.url = args.url or ["http://127.0.0.1:8000"]
    for url in args.url:
        check_loopback(url)
    return args


def figures(summary: dict) -> list[dict]:
    """The table's figures, from the last (largest) step: the tail of commands that need no model,
    replies lost, errors, and memory per game."""
    last = summary["steps"][-1]
    games = last["games"]
    grown = [last["rss_mb"][pid] - summary["baseline_rss_mb"][pid] for pid in last["rss_mb"]
             if last["rss_mb"][pid] is not None and summary["baseline_rss_mb"].get(pid) is not None]
    errors = sum(sum(step["errors"].values()) for step in summary["steps"]) + sum(summary["failed_connects"].values())
    out = [
        bench_report.figure(f"{games} games: commands that need no model, p99", last["non_llm"]["p99_ms"], "ms", "< 100 ms"),
        bench_report.figure("replies lost (an id with no final frame)", summary["lost"], "", "= 0"),
        bench_report.figure("errors and failed connections", errors, "", "= 0"),
    ]
    if grown:
        out.append(bench_report.figure(f"server memory a game, from before the first to {games} games",
                                       sum(grown) / games, "MB", "< 1 MB"))
    if last.get("cpu_ms_per_message") is not None:
        out.append(bench_report.figure(f"server CPU a message at {games} games", last["cpu_ms_per_message"], "ms"))
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with ExitStack() as stack:
        if args.serve:
            args.url, args.pid = servers_start(args.serve, stack)
        summary = asyncio.run(main_async(args))
    bench_report.write(args.json, f"load_{args.serve}" if args.serve else "load", figures(summary))
    if args.raw:
        Path(args.raw).write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
