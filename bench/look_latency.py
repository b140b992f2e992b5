"""`look` latency for other players, idle and while slow NPC replies stream.

Run from the project root (loopback only; it starts and stops everything itself, in about a minute):

    .venv/bin/python bench/look_latency.py

It starts the scripted fake LLM server (bench/fake_llm_server.py, the test fake of
tests/llm/fake_openai.py in a process of its own: every reply `--tokens` tokens at
`--tokens-per-second`, 60 at 5/s by default, so 12 s a reply) and a game server
(`manage.py run --no-local-model`, fresh SQLite file in a temp dir, migrated first). Then, each
player in a fresh game of its own (a fresh cookie from GET /):

0. warm-up (not counted): one look per looker, and one whole reply to another player (the first
   reply's end loads the embedding model of NPC memory: seconds, once per server process);
1. idle: `--lookers` players send `look` every `--interval` s for `--idle-seconds`;
2. streaming: the lookers go on, and after one interval `--talkers` other players each `say` a
   line to Gareth at the same moment, so that many slow replies stream at once; the lookers stop
   when the last reply has ended.

A look is timed from the frame leaving to its `narration` arriving; the next look of that player
leaves on its tick, or at once when the answer came later than the tick (never two in flight).
The report gives p50/p95/p99 per phase, and the streaming phase split by what the server was
doing: starting the replies (until every first token), streaming them, and finishing them (from
the first `npc.end` to the last). It checks that every reply ended with `source` "llm" and all
its tokens.

The game server runs with three settings changed, each so that the load is what is asked for:
TANKARD_TURNS_PER_MINUTE (a look every 200 ms is 300 turns a minute, over the default per-game
limit of 40), TANKARD_LLM_CONCURRENCY = `--talkers` (the default for a remote server is 8, which
would queue two of ten replies) and TANKARD_REPLY_CACHE=false unless `--reply-cache on` (the lines
differ anyway). With `--url` the server is yours, and so are its settings and its LLM.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report as bench_report  # noqa: E402
from bench._servers import FakeLLMProcess, GameServer, cpu_seconds  # noqa: E402
from bench._ws import (  # noqa: E402
    Player, check_loopback, command_line, machine_load, markdown_table, ms, new_game, percentile, stop_on_sigterm,
)

TALK_LINES = (
    "Whose is the crooked weathervane on the stable roof?", "Did the blacksmith ever pay off his slate here?",
    "Might a traveller borrow a lantern for the north road tonight?", "Was that a wolf howling behind the woodpile?",
    "Ever seen a coin like this one, stamped with a heron?", "Remember the summer the river froze solid?",
    "Does anyone here play the lute well?", "Quite a crowd for a Tuesday, isn't it?",
    "Someone left a muddy boot by the hearth; yours?", "Lately the roads smell of smoke; any idea why?",
)
# The fake model's reply, as the game shows it: a checked sentence at a time (gameplay/reply_checks.py),
# so a short first sentence (the first npc.token) and a long second one that streams for seconds
# before it is shown; no name or price the checks would stop; 67 words.
REPLY_WORDS = (
    "Aye. The road north has been quiet since the frost came and went, and the farmers keep their sheep close to the "
    "barns and their doors barred long after dark, so I would not walk that way alone, friend, not without a lantern "
    "and a stout stick, and I would sit by the fire a while and warm my hands before I went anywhere at all tonight."
).split()
LOOK_TIMEOUT = 10.0


def reply_words(count: int) -> list[str]:
    """The first `count` words of the reply, ending a sentence."""
    words = REPLY_WORDS[:count]
    if not words[-1].endswith((".", "!", "?")):
        words[-1] = words[-1].rstrip(",") + "."
    return words


def talk_line(index: int) -> str:
    """A different line for each talker."""
    return ("", "Friend, ", "Barkeep, ", "Say, ")[index // len(TALK_LINES)] + TALK_LINES[index % len(TALK_LINES)]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="See the module docstring for the method.")
    parser.add_argument("--talkers", type=int, default=10, help="players whose NPC replies stream at once; default 10")
    parser.add_argument("--lookers", type=int, default=10, help="players sending look; default 10")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between one player's looks; default 0.2")
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="length of the idle phase; default 10")
    parser.add_argument("--tokens", type=int, default=60, help="tokens in each fake reply (at most 67); default 60")
    parser.add_argument("--tokens-per-second", type=float, default=5.0, help="fake token rate; default 5")
    parser.add_argument("--first-token-delay", type=float, default=0.5, help="fake first-token delay, s; default 0.5")
    parser.add_argument("--reply-cache", choices=("off", "on"), default="off", help="the game server's reply cache; default off")
    parser.add_argument("--url", help="an already running game server whose LLM streams slowly (then no servers are started)")
    parser.add_argument("--timeout", type=float, default=120.0, help="longest wait for the replies, seconds")
    parser.add_argument("--json", help="write the figures here, for ./tankard bench (bench/report.py)")
    parser.add_argument("--raw", help="write every sample here")
    args = parser.parse_args(argv)
    if args.talkers > len(TALK_LINES) * 4 or min(args.talkers, args.lookers) < 1:
        parser.error(f"1 to {len(TALK_LINES) * 4} talkers, at least 1 looker")
    if not 1 <= args.tokens <= len(REPLY_WORDS):
        parser.error(f"--tokens: 1 to {len(REPLY_WORDS)}")
    if args.url:
        check_loopback(args.url)
    return args


@dataclass
class Phase:
    """Look samples as (sent_at, latency) pairs, and the looks that got no narration."""

    looks: list[tuple[float, float]] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    lost: int = 0


async def looker(player: Player, index: int, args: argparse.Namespace, phase: Phase, stop: asyncio.Event, offset: float) -> None:
    """Look on every tick until `stop`; one look in flight at a time."""
    start = time.perf_counter() + offset
    for tick in range(100_000):
        if stop.is_set():
            return
        wait = start + tick * args.interval - time.perf_counter()
        if wait > 0:
            try:
                await asyncio.wait_for(stop.wait(), wait)
                return
            except TimeoutError:
                pass
        pending = await player.send({"type": "command", "id": f"look-{index}-{len(phase.looks)}-{tick}-{id(phase)}", "text": "look"})
        try:
            await asyncio.wait_for(pending.done.wait(), LOOK_TIMEOUT)
        except TimeoutError:
            phase.lost += 1
            continue
        if pending.final.get("type") == "narration":
            phase.looks.append((pending.sent_at, pending.final_at - pending.sent_at))
        else:
            code = pending.final.get("code", pending.final.get("type"))
            phase.refused[code] = phase.refused.get(code, 0) + 1


async def look_for(lookers: list[Player], args: argparse.Namespace, phase: Phase, stop: asyncio.Event) -> None:
    offsets = [args.interval * i / len(lookers) for i in range(len(lookers))]  # spread over the interval
    await asyncio.gather(*(looker(p, i, args, phase, stop, offsets[i]) for i, p in enumerate(lookers)))


async def warm_up(url: str, lookers: list[Player], timeout: float) -> None:
    """A server's first look and first whole reply pay one-off costs (loading the world, the
    tokenizer, the HTTP client, and at the reply's end the embedding model that memory recording
    uses): one look per looker and one whole reply, not counted, before the idle phase."""
    for index, player in enumerate(lookers):
        pending = await player.send({"type": "command", "id": f"warm-look-{index}", "text": "look"})
        await asyncio.wait_for(pending.done.wait(), LOOK_TIMEOUT)
    warm = await Player(url, await new_game(url)).open()
    try:
        pending = await warm.send({"type": "say", "id": "warm-say", "npc": "gareth", "text": "Good morning to you."})
        await asyncio.wait_for(pending.done.wait(), timeout)
    finally:
        await warm.close()


async def measure(args: argparse.Namespace, url: str) -> dict:
    lookers = [await Player(url, await new_game(url)).open() for _ in range(args.lookers)]
    talkers = [await Player(url, await new_game(url)).open() for _ in range(args.talkers)]
    running: asyncio.Task | None = None
    try:
        await warm_up(url, lookers, args.timeout)
        idle, stop = Phase(), asyncio.Event()
        running = asyncio.create_task(look_for(lookers, args, idle, stop))
        await asyncio.sleep(args.idle_seconds)
        stop.set()
        await running
        busy, stop = Phase(), asyncio.Event()
        running = asyncio.create_task(look_for(lookers, args, busy, stop))
        await asyncio.sleep(args.interval)
        replies = await asyncio.gather(*(
            t.send({"type": "say", "id": f"talk-{i}", "npc": "gareth", "text": talk_line(i)})
            for i, t in enumerate(talkers)))
        try:
            await asyncio.wait_for(asyncio.gather(*(r.done.wait() for r in replies)), args.timeout)
        except TimeoutError:
            print(f"not every reply ended within {args.timeout:g} s", file=sys.stderr)
        stop.set()
        await running
        return {"idle": idle, "busy": busy, "replies": replies}
    finally:
        if running is not None and not running.done():  # interrupted: stop looking before closing the sockets
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        for player in lookers + talkers:
            await player.close()


def report(args: argparse.Namespace, result: dict, expected: str) -> dict:
    idle, busy, replies = result["idle"], result["busy"], result["replies"]
    said_at = min(r.sent_at for r in replies)
    firsts = [r.first_token_at for r in replies if r.first_token_at is not None]
    ends = [r.final_at for r in replies if r.final_at is not None]
    all_first, first_end, last_end = max(firsts, default=said_at), min(ends, default=said_at), max(ends, default=said_at)
    windows = (
        ("streaming, all", said_at, last_end),
        ("… replies starting (say → last first token)", said_at, all_first),
        ("… replies streaming (→ first npc.end)", all_first, first_end),
        ("… replies ending (first → last npc.end)", first_end, last_end),
    )
    rows = [_row("idle (no replies)", [lat for _, lat in idle.looks])]
    for label, start, end in windows:
        rows.append(_row(label, [lat for sent, lat in busy.looks if start <= sent <= end]))
    print("\n" + markdown_table(["look latency (send → narration)", "looks", "p50 ms", "p95 ms", "p99 ms", "max ms"], rows))
    print(f"\nwindows: replies starting {ms(all_first - said_at)} ms, streaming {ms(first_end - all_first)} ms, "
          f"ending {ms(last_end - first_end)} ms")
    good = [r for r in replies if r.final and r.final.get("type") == "npc.end" and r.final.get("source") == "llm" and r.final.get("text") == expected]
    print(f"replies: {len(good)} of {len(replies)} ended (npc.end) with source llm and the whole text; "
          f"sources {sorted({(r.final or {}).get('source', 'none') for r in replies})}; "
          f"first token p50 {ms(percentile([r.first_token_at - r.sent_at for r in replies if r.first_token_at], 50))} ms, "
          f"reply p50 {ms(percentile([r.final_at - r.sent_at for r in replies if r.final_at], 50))} ms")
    for name, phase in (("idle", idle), ("streaming", busy)):
        if phase.lost or phase.refused:
            print(f"{name}: {phase.lost} looks unanswered within {LOOK_TIMEOUT:g} s, refused {phase.refused}")
    streaming_p99 = percentile([lat for sent, lat in busy.looks if said_at <= sent <= last_end], 99)
    verdict = "met" if streaming_p99 < 0.050 and len(good) == len(replies) else "MISSED"
    print(f"target (look p99 under 50 ms while replies stream, every reply complete): {verdict}; {machine_load()}")
    return {"command": command_line(), "load": machine_load(), "rows": rows, "complete_replies": len(good),
            "replies": len(replies), "streaming_p99_ms": streaming_p99 * 1000,
            "idle_p99_ms": percentile([lat for _, lat in idle.looks], 99) * 1000,
            "idle_looks": idle.looks, "busy_looks": busy.looks, "said_at": said_at, "all_first": all_first,
            "first_end": first_end, "last_end": last_end}


def figures(summary: dict) -> list[dict]:
    """The table's figures: the streaming p99 against the same players' idle p99, and whole replies."""
    complete, replies = summary["complete_replies"], summary["replies"]
    return [
        bench_report.figure(f"other players' look p99 while {replies} replies stream (baseline: the same looks, idle)",
                            summary["streaming_p99_ms"], "ms", "< 50 ms", baseline=summary["idle_p99_ms"]),
        bench_report.figure("replies complete (npc.end, source llm, the whole text)", complete, f"of {replies}",
                            f"= {replies}"),
    ]


def _row(label: str, values: list[float]) -> list[object]:
    return [label, len(values), ms(percentile(values, 50)), ms(percentile(values, 95)), ms(percentile(values, 99)),
            ms(max(values, default=float("nan")))]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    print(command_line())
    print(machine_load(), flush=True)
    words = reply_words(args.tokens)
    with ExitStack() as stack:
        pid = None
        if args.url:
            url = args.url
        else:
            fake = stack.enter_context(FakeLLMProcess(" ".join(words), args.tokens_per_second, args.first_token_delay))
            env = {"TANKARD_TURNS_PER_MINUTE": "1000000", "TANKARD_NEW_GAMES_PER_HOUR": "1000000", "TANKARD_LLM_CONCURRENCY": str(args.talkers),
                   "TANKARD_REPLY_CACHE": "true" if args.reply_cache == "on" else "false"}
            server = stack.enter_context(GameServer(llm_base_url=fake.base_url, model="fake-model", env=env))
            url, pid = server.url, server.pid
            print(f"fake LLM {fake.base_url} ({args.tokens} tokens at {args.tokens_per_second:g}/s); "
                  f"game server {url} (pid {pid})", flush=True)
        cpu_before = cpu_seconds(pid)
        started = time.perf_counter()
        try:
            result = asyncio.run(measure(args, url))
        except KeyboardInterrupt:
            print("interrupted; stopping the servers", file=sys.stderr)
            return 130
        cpu_after = cpu_seconds(pid)
        summary = report(args, result, " ".join(words))
        if cpu_before is not None and cpu_after is not None:
            print(f"game server CPU: {cpu_after - cpu_before:.1f} s over {time.perf_counter() - started:.1f} s of the run")
    bench_report.write(args.json, "look_latency", figures(summary))
    if args.raw:
        Path(args.raw).write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
