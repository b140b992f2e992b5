"""Many talkers at once on the local model: aggregate tokens/s and first tokens, through the game and
straight to the model server, at 1, 2, 4 and 8 simultaneous talkers (issue 21).

Run from the project root (loopback only; it starts and stops everything itself):

    .venv/bin/python bench/llm_concurrency.py            # 5 bursts per level
    .venv/bin/python bench/llm_concurrency.py --quick    # 1 burst per level

It starts a game server as `./tankard play` runs it (`manage.py run` on a fresh SQLite file, which
starts and supervises the local model server, `llm.model_server`, with TANKARD_LOCAL_LLM_SLOTS
slots, on a port this script picks; reply cache off, turn and new-game limits raised, LLM timeouts
raised to `--timeout`). For every level (number of talkers) it sends `--rounds` bursts (up to four
times as many at the levels below the largest: `bursts_at`) each of
three ways, the way that goes first turning round from burst to burst:

- through the game: that many players, each in a fresh game over its websocket, `say` a different
  line to Gareth at the same moment; a reply's first token is its first `npc.token` (what the
  player sees: the reply's first checked sentence), its end the `npc.end`, which must come with
  `source` "llm", or "fallback" when the checks held the model's reply back twice (the game's
  `tankard_reply_fallbacks_total` says which: reported as stock lines, not lost); a stock line
  because the model failed, or a cut reply, counts as lost;
- straight: as many other lines of the same list, as the bodies the game would send (built in
  this process by the game's own `say_prepare` and `prompt_build` on fresh games of the same
  database, `Sampling.for_replies`), sent at once with the `openai` call the game makes, each
  stream closed where the game closes its own (after `MAX_SENTENCES` sentences, counted with the
  game's `sentences_ended`), or at the reply's end; that is the baseline of game ÷ straight, so
  that the ratio weighs what the game adds, not that it asks for two sentences;
- whole: the same again with other lines, each reply run to its end (its max tokens or the
  model's stop), reported beside it (longer replies spread each prompt's reading over more tokens).
  (Each way its own lines: the model server keeps each slot's last prompt, so a prompt sent twice
  is decoded only once, and the second way would look faster.)

A burst's tokens are what the model server generated meanwhile (its `generated_tokens` counter in
GET /v1/models; the script waits for it to be idle before and after), so every way counts tokens
alike; aggregate tokens/s at a level is the tokens of its bursts over their summed wall time (first
send to last end). Meanwhile one more player `look`s every `--look-interval` s; its latencies during
the game-way bursts give the look p99.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report as bench_report  # noqa: E402
from bench._servers import GameServer, free_port, settled  # noqa: E402
from bench._ws import Player, command_line, machine_load, markdown_table, ms, new_game, percentile, stop_on_sigterm  # noqa: E402
from bench.llm_ttft import django_setup, game_messages, lines, request_body  # noqa: E402

LOOK_TIMEOUT = 10.0
WAYS = ("game", "straight", "whole")
TARGETS = {"speedup": 1.5, "game_over_raw": 0.9, "first_token_p95": 2.0, "look_p99": 0.050}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="See the module docstring for the method.")
    parser.add_argument("--talkers", default="1,2,4,8", help="levels of simultaneous talkers; default 1,2,4,8")
    parser.add_argument("--rounds", type=int, default=5, help="bursts per level and way (more at the lowest levels: bursts_at); default 5")
    parser.add_argument("--quick", action="store_true", help="one burst per level and way")
    parser.add_argument("--slots", type=int, help="TANKARD_LOCAL_LLM_SLOTS for the game's model server (default: the setting's)")
    parser.add_argument("--npc", default="gareth")
    parser.add_argument("--look-interval", type=float, default=0.1, help="seconds between the looker's looks; default 0.1")
    parser.add_argument("--timeout", type=float, default=180.0, help="longest wait for one burst, seconds")
    parser.add_argument("--json", help="write the figures here, for ./tankard bench (bench/report.py)")
    parser.add_argument("--raw", help="write every sample here")
    parser.add_argument("--model-alone", action="store_true", help="only llama.cpp's own step and prompt figures, as JSON")
    args = parser.parse_args(argv)
    args.levels = [int(n) for n in args.talkers.split(",")]
    if args.quick:
        args.rounds = 1
    return args


@dataclass
class Burst:
    way: str  # "game", "straight" (ended where the game ends its replies) or "whole" (straight, each reply to its end)
    talkers: int
    wall: float  # seconds from the first send to the last end
    tokens: int  # generated by the model server meanwhile
    first_tokens: list[float]  # seconds from each send to its first token (replies that had one)
    lost: int  # replies that did not come back whole (a model failure, error, no finish reason, timeout)
    why_lost: list[str] = field(default_factory=list)  # how each lost reply ended
    background: int = 0  # background requests (pre-generation, summaries, ratings) the model served meanwhile
    held_back: int = 0  # game way: whole stock lines because the checks held the model's reply back twice (not lost)
    checks: dict = field(default_factory=dict)  # game way: sentences the checks held back, by reason (each a new try)


@dataclass
class Looks:
    counting: bool = False
    latencies: list[float] = field(default_factory=list)
    lost: int = 0


def bursts_at(level: int, args: argparse.Namespace) -> int:
    """Bursts each way at a level: `--rounds`, more where few talk (a burst of one reply is short,
    and one slow reply, a second try or a background request moves its figure most): up to four
    times as many, so that each level holds about as many replies as the largest."""
    return args.rounds * max(1, min(4, max(args.levels) // (2 * level)))


# --- the model server's counter -------------------------------------------------------------------
def model_stats(llm_url: str) -> dict:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{llm_url}/models", timeout=5) as response:
        return json.loads(response.read())["data"][0]


async def model_idle(llm_url: str, timeout: float = 60.0) -> dict:
    """Wait until no slot is busy and nothing waits; the model server's counters then."""
    deadline = time.monotonic() + timeout
    while True:
        stats = await asyncio.to_thread(model_stats, llm_url)
        if stats["busy"] == 0 and stats["waiting"] == 0 or time.monotonic() > deadline:
            return stats
        await asyncio.sleep(0.05)


def counted(before: dict, after: dict) -> tuple[int, int]:
    """Tokens generated, and background requests served, between two readings."""
    return (after["generated_tokens"] - before["generated_tokens"],
            after.get("background_requests", 0) - before.get("background_requests", 0))


METRICS_TOKEN = "llm-concurrency-bench"
MODEL_FAILURES = frozenset({"timeout", "connect", "http_5xx", "http_4xx", "breaker_open", "queue_full", "malformed", "cut"})


# What the game's /metrics counts about replies: family -> (its label, the prefix its counts get here).
REPLY_COUNTS = {"tankard_reply_fallbacks_total": ("reason", ""),  # stock lines, by why
                "tankard_reply_checks_failed_total": ("reason", "check:"),  # first sentences held back (each a new try)
                "tankard_reply_check_outcomes_total": ("outcome", "outcome:")}  # cut, regenerated, corrected...


def reply_counts(url: str) -> dict[str, float]:
    """The game's reply counters (`REPLY_COUNTS`), from GET /metrics; a passed reply is not counted."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with opener.open(request, timeout=5) as response:
        text = response.read().decode()
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in REPLY_COUNTS:
                label, prefix = REPLY_COUNTS[sample.name]
                if sample.labels[label] != "passed":
                    name = prefix + sample.labels[label]
                    counts[name] = counts.get(name, 0.0) + sample.value
    return counts


# --- the two ways ---------------------------------------------------------------------------------
async def game_burst(url: str, llm_url: str, npc: str, said: list[str], timeout: float) -> Burst:
    """A stock line counts as lost when the model failed (its reason is a model failure, read from the
    game's metrics); one the checks chose, the model having answered twice, is `held_back`."""
    players = [await Player(url, await new_game(url)).open() for _ in said]
    try:
        stock_before = await asyncio.to_thread(reply_counts, url)
        before = await model_idle(llm_url)
        start = time.perf_counter()
        pendings = [await p.send({"type": "say", "id": f"talk-{i}", "npc": npc, "text": line})
                    for i, (p, line) in enumerate(zip(players, said))]
        try:
            await asyncio.wait_for(asyncio.gather(*(p.done.wait() for p in pendings)), timeout)
        except TimeoutError:
            pass
        ends = [p.final_at for p in pendings if p.final_at is not None]
        wall = (max(ends) if ends else time.perf_counter()) - start
        tokens, background = counted(before, await model_idle(llm_url))
        stock = {reason: n - stock_before.get(reason, 0.0) for reason, n in (await asyncio.to_thread(reply_counts, url)).items()}
    finally:
        for player in players:
            await player.close()

    def ended(p) -> bool:
        return bool(p.final) and p.final.get("type") == "npc.end" and p.final.get("source") in ("llm", "fallback")

    failed = [reason for reason, n in stock.items() for _ in range(round(n)) if reason in MODEL_FAILURES]
    held_back = sum(round(n) for reason, n in stock.items() if reason not in MODEL_FAILURES and ":" not in reason)
    checks = {reason[6:]: round(n) for reason, n in stock.items() if reason.startswith("check:") and round(n)}
    checks |= {reason: round(n) for reason, n in stock.items() if reason.startswith("outcome:") and round(n)}
    why = [f"{p.final.get('type')} {p.final.get('source') or p.final.get('code') or ''}".strip() if p.final else "no answer"
           for p in pendings if not ended(p)] + [f"stock line: {reason}" for reason in failed]
    return Burst("game", len(said), wall, tokens, [p.first_token_at - p.sent_at for p in pendings if p.first_token_at],
                 len(why), why, background, held_back, checks)


async def straight_burst(client, llm_url: str, bodies: list[dict], timeout: float, *, whole: bool) -> Burst:
    """The bodies sent at once. `whole`: each reply runs to its end (its max tokens or the model's
    stop); else each stream is closed where the game closes its own, after MAX_SENTENCES sentences."""
    import openai
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    from gameplay.reply_gate import MAX_SENTENCES, sentences_ended

    async def one(body: dict) -> tuple[float | None, bool, float]:
        started, first, finished, text = time.perf_counter(), None, False, ""
        stream = await client.post("/chat/completions", body=body, cast_to=ChatCompletion, stream=True,
                                   stream_cls=openai.AsyncStream[ChatCompletionChunk])
        async for chunk in stream:
            piece = chunk.choices[0].delta.content if chunk.choices and chunk.choices[0].delta else None
            if piece and first is None:
                first = time.perf_counter() - started
            text += piece or ""
            if not whole and sentences_ended(text) >= MAX_SENTENCES:
                await stream.close()  # as the game does: the model server stops the reply
                return first, True, time.perf_counter()
            finished = finished or bool(chunk.choices and chunk.choices[0].finish_reason)
        return first, finished, time.perf_counter()

    before = await model_idle(llm_url)
    start = time.perf_counter()
    results = await asyncio.wait_for(asyncio.gather(*(one(b) for b in bodies), return_exceptions=True), timeout)
    done = [r for r in results if not isinstance(r, BaseException)]
    wall = max((end for _, _, end in done), default=time.perf_counter()) - start
    tokens, background = counted(before, await model_idle(llm_url))
    return Burst("whole" if whole else "straight", len(bodies), wall, tokens, [first for first, _, _ in done if first is not None],
                 len(bodies) - sum(1 for _, finished, _ in done if finished), background=background)


async def looker(url: str, interval: float, looks: Looks, stop: asyncio.Event) -> None:
    player = await Player(url, await new_game(url)).open()
    try:
        for tick in range(1_000_000):
            if stop.is_set():
                return
            counting = looks.counting
            pending = await player.send({"type": "command", "id": f"look-{tick}", "text": "look"})
            try:
                await asyncio.wait_for(pending.done.wait(), LOOK_TIMEOUT)
            except TimeoutError:
                looks.lost += counting
                continue
            if counting and looks.counting and pending.final.get("type") == "narration":
                looks.latencies.append(pending.final_at - pending.sent_at)
            try:
                await asyncio.wait_for(stop.wait(), max(0.0, interval - (time.perf_counter() - pending.sent_at)))
            except TimeoutError:
                pass
    finally:
        await player.close()


async def measure(args: argparse.Namespace, url: str, llm_url: str) -> tuple[list[Burst], Looks]:
    import openai

    client = openai.AsyncOpenAI(base_url=llm_url, api_key="bench", max_retries=0,
                                timeout=openai.Timeout(args.timeout, connect=3.0))
    looks, stop = Looks(), asyncio.Event()
    look_task = asyncio.create_task(looker(url, args.look_interval, looks, stop))
    pool = lines(len(WAYS) * sum(level * bursts_at(level, args) for level in args.levels) + 1)
    bursts: list[Burst] = []
    try:
        await game_burst(url, llm_url, args.npc, [pool.pop()], args.timeout)  # warm-up: one-off loads, not counted
        for level in args.levels:
            for round_ in range(bursts_at(level, args)):
                # Each way its own lines: a prompt sent twice would be served the second time from the
                # slot that still holds it, and that way would look faster than it is.
                said = {way: [pool.pop() for _ in range(level)] for way in WAYS}
                bodies = {way: [] for way in WAYS[1:]}
                for way in WAYS[1:]:
                    for line in said[way]:
                        game = await new_game(url)
                        bodies[way].append(request_body(*await asyncio.to_thread(game_messages, game.game_id, args.npc, line), "smollm2"))
                for way in WAYS[round_ % len(WAYS):] + WAYS[:round_ % len(WAYS)]:  # which goes first turns round
                    if way == "game":
                        looks.counting = True
                        burst = await game_burst(url, llm_url, args.npc, said["game"], args.timeout)
                        looks.counting = False
                    else:
                        burst = await straight_burst(client, llm_url, bodies[way], args.timeout, whole=way == "whole")
                    bursts.append(burst)
                    print(f"  {level} talkers, {way:8}  {burst.tokens:4} tokens in {burst.wall:6.2f} s = "
                          f"{burst.tokens / burst.wall:6.1f} tokens/s; first tokens "
                          f"{', '.join(f'{t:.2f}' for t in sorted(burst.first_tokens))} s; lost {burst.lost}"
                          f"{' (' + ', '.join(burst.why_lost) + ')' if burst.why_lost else ''}"
                          f"{f'; {burst.held_back} stock lines chosen by the checks' if burst.held_back else ''}"
                          f"{'; held back by the checks: ' + ', '.join(f'{r} {n}' for r, n in sorted(burst.checks.items())) if burst.checks else ''}"
                          f"{f'; {burst.background} background requests meanwhile' if burst.background else ''}", flush=True)
    finally:
        stop.set()
        await asyncio.gather(look_task, return_exceptions=True)
        await client.close()
    return bursts, looks


# --- llama.cpp alone -------------------------------------------------------------------------------
def model_alone(levels: list[int], prompt_tokens: int = 340, reply_prompt: int = 40, steps: int = 25) -> dict:
    """The model's own limit, with nothing else running (the game's settings: its weights, threads,
    slots and window; called in a subprocess of its own, before the servers start): the time of a
    decode step of one new token for 1..N replies at once, each over `prompt_tokens` cells (a
    character sheet's length), and prompt reading in tokens/s (N prompts' own `reply_prompt`
    tokens in one batch, as when N players speak at once)."""
    from django.conf import settings

    from llm.local_server import WEIGHTS_DIR, local_model_path
    from llm.model_server.model import LoadedModel, quiet_llama_log, weights_in

    quiet_llama_log()
    cfg = settings.TANKARD_LLM
    top = max(levels)
    model = LoadedModel(weights_in(local_model_path(), cfg["LOCAL_WEIGHTS"], WEIGHTS_DIR), slots=max(top, cfg["LOCAL_SLOTS"]),
                        context_window=cfg["CONTEXT_WINDOW"], threads=cfg["LOCAL_THREADS"])
    try:
        for seq in range(top):
            for start in range(0, prompt_tokens, 170):
                count = min(170, prompt_tokens - start)
                model.decode([(100 + i % 50, start + i, seq, i == count - 1) for i in range(count)])
        out: dict = {"step_ms": {}}
        for level in levels:
            times = []
            for k in range(steps):
                started = time.perf_counter()
                model.decode([(200, prompt_tokens + k, seq, True) for seq in range(level)])
                times.append(time.perf_counter() - started)
            for seq in range(top):
                model.forget(seq, keep=prompt_tokens)
            out["step_ms"][level] = statistics.median(times[3:]) * 1000
        started = time.perf_counter()
        model.decode([(300 + i % 50, prompt_tokens + i, seq, i == reply_prompt - 1) for seq in range(top) for i in range(reply_prompt)])
        out["prompt_tokens_per_s"] = top * reply_prompt / (time.perf_counter() - started)
        return out
    finally:
        model.close()


def model_alone_in_subprocess(levels: list[int]) -> dict | None:
    """`model_alone` in a process of its own (llama.cpp's threads are not this process's), or None."""
    import subprocess

    done = subprocess.run([sys.executable, __file__, "--model-alone", "--talkers", ",".join(map(str, levels))],
                          capture_output=True, text=True, timeout=300)
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
        return found | {"step_ms": {int(n): v for n, v in found["step_ms"].items()}}
    except (IndexError, KeyError, json.JSONDecodeError):
        print(f"llama.cpp alone could not be measured: {done.stderr.strip()[-300:]}", file=sys.stderr)
        return None


# --- report ---------------------------------------------------------------------------------------
def summarise(bursts: list[Burst], levels: list[int]) -> dict:
    out: dict = {}
    for level in levels:
        for way in WAYS:
            mine = [b for b in bursts if b.talkers == level and b.way == way]
            firsts = [t for b in mine for t in b.first_tokens]
            out[(level, way)] = {
                "tokens_per_second": sum(b.tokens for b in mine) / sum(b.wall for b in mine),
                "first_p50": percentile(firsts, 50), "first_p95": percentile(firsts, 95),
                "lost": sum(b.lost for b in mine), "replies": level * len(mine), "held_back": sum(b.held_back for b in mine),
            }
    return out


def report(args: argparse.Namespace, bursts: list[Burst], looks: Looks, alone: dict | None = None) -> list[dict]:
    s = summarise(bursts, args.levels)
    rows = []
    for level in args.levels:
        game, raw, whole = s[(level, "game")], s[(level, "straight")], s[(level, "whole")]
        rows.append([level, f"{game['tokens_per_second']:.1f}", f"{raw['tokens_per_second']:.1f}",
                     f"{game['tokens_per_second'] / raw['tokens_per_second']:.2f}", f"{whole['tokens_per_second']:.1f}",
                     ms(game["first_p50"]), ms(game["first_p95"]), ms(raw["first_p50"]), ms(raw["first_p95"]),
                     f"{game['lost']}+{raw['lost']}+{whole['lost']} of {game['replies']}+{raw['replies']}+{whole['replies']}"])
    print("\n" + markdown_table(["talkers", "game tokens/s", "straight tokens/s", "game ÷ straight", "straight, whole replies, tokens/s",
                                 "game first p50 ms", "game first p95 ms", "straight first p50 ms", "straight first p95 ms",
                                 "lost (game+straight+whole)"], rows))
    top, one = max(args.levels), min(args.levels)
    game_top, raw_top, whole_top, game_one = s[(top, "game")], s[(top, "straight")], s[(top, "whole")], s[(one, "game")]
    look_p99 = percentile(looks.latencies, 99)
    lost = sum(v["lost"] for v in s.values())
    print(f"\nlook while the game-way bursts ran: {len(looks.latencies)} looks, p50 {ms(percentile(looks.latencies, 50))} ms, "
          f"p99 {ms(look_p99)} ms, {looks.lost} lost\n{machine_load()}")
    speedup = game_top["tokens_per_second"] / game_one["tokens_per_second"]
    ratio = game_top["tokens_per_second"] / raw_top["tokens_per_second"]
    figures = [
        bench_report.figure(f"{top} talkers at once: aggregate tokens/s through the game (baseline: {one} at a time)",
                            game_top["tokens_per_second"], "tokens/s", f"≥ {TARGETS['speedup']}× baseline",
                            met=speedup >= TARGETS["speedup"], baseline=game_one["tokens_per_second"]),
        bench_report.figure(f"{top} talkers: aggregate tokens/s, game ÷ straight to the model server, replies ended "
                            f"where the game ends them (baseline: straight, tokens/s)", round(ratio, 3), "x raw",
                            f">= {TARGETS['game_over_raw']}", met=ratio >= TARGETS["game_over_raw"],
                            baseline=raw_top["tokens_per_second"]),
        bench_report.figure(f"{top} talkers: aggregate tokens/s straight to the model server, each reply to its end "
                            f"(baseline: the same ended where the game ends them)", whole_top["tokens_per_second"], "tokens/s",
                            baseline=raw_top["tokens_per_second"]),
        bench_report.figure(f"{top} talkers: first words a player sees, p95 (baseline: first token straight, p95)",
                            game_top["first_p95"] * 1000, "ms", f"< {TARGETS['first_token_p95'] * 1000:g} ms",
                            baseline=raw_top["first_p95"] * 1000),
        bench_report.figure(f"{top} talkers: first words a player sees, p50 (baseline: first token straight, p50)",
                            game_top["first_p50"] * 1000, "ms", baseline=raw_top["first_p50"] * 1000),
        bench_report.figure("replies lost or cut, every level, both ways", lost, "replies", "= 0"),
        bench_report.figure("game way: stock lines the checks chose (the model answered twice; not lost)",
                            sum(v.get("held_back", 0) for v in s.values()), "replies"),
        bench_report.figure("another player's look p99 while the talkers talk", look_p99 * 1000, "ms",
                            f"< {TARGETS['look_p99'] * 1000:g} ms"),
    ]
    if alone:
        steps = alone["step_ms"]
        figures.append(bench_report.figure(
            f"llama.cpp alone: {top} replies a step, tokens/s (baseline: 1 reply a step); the most batching can give here",
            top / steps[top] * 1000, "tokens/s", baseline=1 / steps[one] * 1000))
    for level in args.levels:
        if level != top:
            figures.append(bench_report.figure(f"{level} talkers: aggregate tokens/s through the game (baseline: straight)",
                                               s[(level, "game")]["tokens_per_second"], "tokens/s",
                                               baseline=s[(level, "straight")]["tokens_per_second"]))
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.model_alone:
        django_setup(":memory:")
        print(json.dumps(model_alone(args.levels)))
        return 0
    stop_on_sigterm()
    print(command_line())
    print(machine_load(), flush=True)
    alone = model_alone_in_subprocess(args.levels)
    if alone:
        print("llama.cpp alone, one new token each for N replies: " + ", ".join(
            f"{n}: {ms_:.1f} ms a step = {n / ms_ * 1000:.0f} tokens/s" for n, ms_ in alone["step_ms"].items())
            + f"; reading prompts {alone['prompt_tokens_per_s']:.0f} tokens/s", flush=True)
    port = free_port()
    llm_url = f"http://127.0.0.1:{port}/v1"
    env = {"TANKARD_METRICS_TOKEN": METRICS_TOKEN, "TANKARD_REPLY_CACHE": "false", "TANKARD_TURNS_PER_MINUTE": "1000000", "TANKARD_NEW_GAMES_PER_HOUR": "1000000",
           "TANKARD_LLM_FIRST_TOKEN_TIMEOUT": str(args.timeout), "TANKARD_LLM_TOTAL_TIMEOUT": str(args.timeout),
           "TANKARD_LLM_TOKEN_GAP_TIMEOUT": str(args.timeout)}
    if args.slots:
        env["TANKARD_LOCAL_LLM_SLOTS"] = str(args.slots)
    with ExitStack() as stack:
        server = GameServer(llm_base_url=llm_url, model="smollm2", env=env, local_model_port=port)
        # This process builds the straight way's prompts: the local model's prompts, as the game's.
        for remote in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "TANKARD_LLM_MODEL"):
            os.environ.pop(remote, None)
        os.environ["TANKARD_LOCAL_LLM_PORT"] = str(port)
        django_setup(server.sqlite_path)
        stack.enter_context(server)
        # The game's start-up warm-up (embedding every NPC's questions) runs in the background: on
        # two cores it slowed the first bursts' steps twofold (a 188-token prompt read in 2 s).
        settled([server.pid], busy_share=0.05, timeout=120)
        slots = model_stats(llm_url)["slots"]
        print(f"game server {server.url} (pid {server.pid}); its model server {llm_url}, {slots} slots", flush=True)
        try:
            bursts, looks = asyncio.run(measure(args, server.url, llm_url))
        except KeyboardInterrupt:
            print("interrupted; stopping the servers", file=sys.stderr)
            return 130
    figures = report(args, bursts, looks, alone)
    machine = f"{bench_report.machine()}; {slots} slots"
    bench_report.write(args.json, "llm_concurrency", figures, machine_text=machine)
    if args.raw:
        Path(args.raw).write_text(json.dumps({"command": command_line(), "load": machine_load(), "slots": slots,
                                              "bursts": [b.__dict__ for b in bursts], "looks": looks.latencies}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
