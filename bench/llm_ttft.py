"""Time to first token, straight to the LLM server and through the game, in one run: what the game adds.

Run from the project root (loopback only; it starts and stops everything itself):

    .venv/bin/python bench/llm_ttft.py                 # the real local model (SmolLM2 via llama.cpp)
    .venv/bin/python bench/llm_ttft.py --fake          # the scripted fake server (tests/llm/fake_openai.py)

It starts an LLM server (`llm.local_server.LocalModelSupervisor` on a free port, or with `--fake`
`FakeOpenAI`, in this process) and a game server (`manage.py run --no-local-model` on a fresh SQLite
file, the reply cache off unless `--reply-cache on`, its LLM timeouts raised to `--timeout` so that a
slow machine measures a late token, not a fallback). Or give both with `--url`, `--llm-url` and
`--sqlite` (the game's database, which this process reads too).

Each turn is one player line (all differ), sent both ways. Straight: the request body the game
would send (its prompt from `say_prepare` and `prompt_build` in a fresh game of the same database,
its sampling from `llm.client.Sampling.for_replies`), with the same `openai` call as `llm.client`
(`--straight-call create`: the typed method), timed to the first content delta. Through the game:
`say` over the websocket of a fresh game, timed to the first `npc.token`, which the game sends once
the reply's first sentence has passed its checks (gameplay/reply_checks.py). With `--fake`, the
fake records every request: the two bodies of a line must be the same but for the sampling seed
(the game derives it from the game's id), and each way's time splits at the request's arrival.

Both ways alternate and a line never follows itself, so drift cancels and llama.cpp's prefix reuse
treats both alike. Each way stops at its first token (closing the stream or the websocket, which
cancels the turn) and waits until the model is idle (GET /models says no slot is busy);
`--whole-replies` reads every reply to its end. The first `--warmup` lines are not counted. A fresh game has no memories, so a game in progress's memory retrieval is not in it.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import time
import zlib
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report as bench_report  # noqa: E402
from bench._servers import GameServer, free_port  # noqa: E402
from bench._ws import (  # noqa: E402
    Player, check_loopback, command_line, machine_load, markdown_table, median_interval, ms, new_game, percentile,
    stop_on_sigterm,
)

TARGET = 0.005  # seconds the game may add to time to first token, at the median (issue #3)

# Every line opens differently, and none asks one of the reply cache's canonical questions.
LINES = tuple(json.loads((Path(__file__).resolve().parent / "data" / "ttft_lines.json").read_text())["lines"])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="See the module docstring for the method.")
    parser.add_argument("--turns", type=int, default=20, help="counted turns (each sent both ways); default 20")
    parser.add_argument("--warmup", type=int, default=2, help="lines sent both ways first and not counted; default 2")
    parser.add_argument("--npc", default="gareth", help="the NPC spoken to (present at the start of a fresh game)")
    parser.add_argument("--fake", action="store_true", help="use the scripted fake server instead of the local model")
    parser.add_argument("--first-token-delay", type=float, default=0.3, help="--fake: seconds before the first token")
    parser.add_argument("--tokens-per-second", type=float, default=20.0, help="--fake: token rate")
    parser.add_argument("--reply-cache", choices=("off", "on"), default="off", help="the game server's reply cache; default off")
    parser.add_argument("--straight-call", choices=("post", "create"), default="post",
                        help="the straight way's openai call: `post`, the game's own (default), or the typed "
                             "`chat.completions.create`, which walks every message against its types first")
    parser.add_argument("--url", help="an already running game server (needs --llm-url and its database via --sqlite)")
    parser.add_argument("--llm-url", help="the OpenAI-compatible base URL the --url game server uses (…/v1)")
    parser.add_argument("--sqlite", default=os.environ.get("TANKARD_SQLITE_PATH"), help="with --url: the game's SQLite file")
    parser.add_argument("--model", default=None, help="the model name in requests (default: smollm2, or fake-model)")
    parser.add_argument("--whole-replies", action="store_true",
                        help="read every reply to its end (default: stop at the first token, then wait for the model to be idle)")
    parser.add_argument("--timeout", type=float, default=120.0, help="longest wait for one reply, seconds")
    parser.add_argument("--json", help="write the figures here, for ./tankard bench (bench/report.py)")
    parser.add_argument("--raw", help="write every sample here")
    args = parser.parse_args(argv)
    if args.url and not (args.llm_url and args.sqlite) or args.url and args.fake:
        parser.error("--url needs --llm-url and --sqlite, and cannot be used with --fake")
    total = args.turns + args.warmup + 1
    if total > len(LINES) * len(OPENINGS):
        parser.error(f"at most {len(LINES) * len(OPENINGS) - args.warmup - 1} turns")
    args.model = args.model or ("fake-model" if args.fake else "smollm2")
    for url in filter(None, (args.url, args.llm_url)):
        check_loopback(url)
    return args


OPENINGS = ("", "Friend, ", "Barkeep, ", "Say, ", "Listen, ", "Well, ", "Now, ", "So, ", "Oh, ", "Right, ", "Tell me, ",
            "Good day, ", "Hey, ")


def lines(count: int) -> list[str]:
    """`count` distinct lines; past the list, the same lines again with a different opening word."""
    if count > len(LINES) * len(OPENINGS):
        raise ValueError(f"at most {len(LINES) * len(OPENINGS)} distinct lines")
    return [OPENINGS[i // len(LINES)] + LINES[i % len(LINES)] for i in range(count)]


# --- the LLM server -----------------------------------------------------------------------------------
def llm_server_start(args: argparse.Namespace, stack: ExitStack):
    """(base URL, fake or None): the fake, the supervised local model, or the given URL."""
    if args.llm_url:
        return args.llm_url, None
    if args.fake:
        from tests.llm.fake_openai import FakeOpenAI, Reply

        reply = Reply("Aye, that I can tell you, friend. Sit down, have an ale, and listen while I pour. " * 2,
                      tokens_per_second=args.tokens_per_second, first_token_delay=args.first_token_delay)
        arrivals: dict[str, list[float]] = {}

        def answer(body: dict) -> Reply:  # called as each request arrives: note when, per player line
            arrivals.setdefault(player_line(body), []).append(time.perf_counter())
            return reply

        fake = stack.enter_context(FakeOpenAI(default=answer, model=args.model))
        fake.arrivals = arrivals
        return fake.base_url, fake
    from llm.local_server import LocalModelSupervisor

    supervisor = LocalModelSupervisor(port=free_port())
    supervisor.start()
    stack.callback(supervisor.stop)
    if not supervisor.wait_ready(180):
        raise RuntimeError("the local model server did not answer within 180 s")
    return supervisor.base_url, None


def django_setup(sqlite_path: str) -> None:
    os.environ["TANKARD_SQLITE_PATH"] = sqlite_path
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tankard_site.settings")
    import django

    django.setup()
    for chatty in ("httpx", "httpx2", "openai"):  # one INFO line per request would bury the results
        logging.getLogger(chatty).setLevel(logging.WARNING)


# --- the two ways -------------------------------------------------------------------------------------
def game_messages(game_id: str, npc: str, line: str) -> tuple[list[dict], int]:
    """The messages the game sends the model for `line` said to `npc` in this game, and the sampling
    seed of its first attempt (gameplay.voice._astream: a crc32 of the plan's seed) (sync: the ORM)."""
    from gameplay.services import say_prepare
    from gameplay.voice_prompt import prompt_build
    from gameplay.world import world_current

    plan = say_prepare(game_id=game_id, client_id=None, npc=npc, text=line).say
    if plan is None:
        raise RuntimeError(f"{npc} cannot be spoken to at the start of a fresh game")
    messages = [dict(m) for m in prompt_build(plan, world_current().npcs[plan.npc]).messages]
    return messages, zlib.crc32(f"{plan.seed}:0".encode())


def request_body(messages: list[dict], seed: int, model: str) -> dict:
    """What `llm.client.calls._request` sends for a player's reply (`Sampling.for_replies`)."""
    from django.conf import settings

    from llm.client import Sampling

    return {"model": model, "messages": messages, "max_tokens": settings.TANKARD_LLM["MAX_REPLY_TOKENS"],
            **Sampling.for_replies(seed=seed).request_fields(), "stream": True, "stream_options": {"include_usage": True}}


@dataclass(frozen=True)
class Sample:
    way: str  # "straight" or "game"
    line: str
    ttft: float  # seconds
    started: float  # perf_counter when the request or frame left
    total: float
    tokens: int
    source: str = "llm"
    counted: bool = True


async def straight(client, body: dict, line: str, timeout: float, whole: bool, call_kind: str = "post") -> Sample:
    import openai
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    async def call() -> Sample:
        first, tokens = None, 0
        started = time.perf_counter()
        if call_kind == "post":
            # The call the game makes (llm.client.connection.chat_stream_open): the same body, sent as
            # it is through the client's generic `post`, so that neither way pays for the typed
            # method's parameter walk and the difference is the game's own.
            stream = await client.post("/chat/completions", body=body, cast_to=ChatCompletion, stream=True,
                                       stream_cls=openai.AsyncStream[ChatCompletionChunk])
        else:  # what a program written against the client's typed method pays
            stream = await client.chat.completions.create(**body)
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content:
                first = first or time.perf_counter()
                tokens += 1
                if not whole:
                    break
        end = time.perf_counter()
        await stream.close()
        if first is None:
            raise RuntimeError("the model sent no content")
        return Sample("straight", line, first - started, started, end - started, tokens)

    return await asyncio.wait_for(call(), timeout)


async def through_game(url: str, npc: str, line: str, index: int, timeout: float, whole: bool) -> Sample:
    player = await Player(url, await new_game(url)).open()
    try:
        pending = await player.send({"type": "say", "id": f"ttft-{index}", "npc": npc, "text": line})
        await asyncio.wait_for((pending.done if whole else pending.first_token).wait(), timeout)
        final = pending.final or {}
        if pending.first_token_at is None or whole and final.get("type") != "npc.end":
            raise RuntimeError(f"no reply through the game: {final}")
        end = pending.final_at or pending.first_token_at
        return Sample("game", line, pending.first_token_at - pending.sent_at, pending.sent_at, end - pending.sent_at,
                      pending.tokens, final.get("source", "–"))
    finally:
        await player.close()  # without --whole-replies, this cancels the turn and with it the model's stream


async def llm_idle(client, timeout: float) -> None:
    """Until the LLM server has finished with the last request: the game's model server
    (`llm.model_server`) says in GET /models how many slots are `busy` and requests `waiting`
    (the fake says nothing, and is idle at once)."""
    async def idle() -> None:
        while True:
            page = await client.models.list()
            served = page.data[0] if page.data else None
            if not (getattr(served, "busy", 0) or getattr(served, "waiting", 0)):
                return
            await asyncio.sleep(0.02)

    await asyncio.wait_for(idle(), timeout)


def schedule(count: int) -> list[tuple[str, int]]:
    """Both ways for lines 0..count-1: step k sends line k straight and line k-2 through the game,
    in alternating order, so that no request follows one with the same line."""
    order: list[tuple[str, int]] = []
    for step in range(count + 2):
        pair = [("straight", step)] * (step < count) + [("game", step - 2)] * (step >= 2)
        order += pair if step % 2 == 0 else pair[::-1]
    assert all(a[1] != b[1] for a, b in zip(order, order[1:]))
    return order


async def measure(args: argparse.Namespace, game_url: str, llm_url: str) -> list[Sample]:
    import openai

    said = lines(args.turns + args.warmup)
    games = [await new_game(game_url) for _ in said]  # the straight way's messages, each from a fresh game
    bodies = [request_body(*await asyncio.to_thread(game_messages, g.game_id, args.npc, line), args.model)
              for g, line in zip(games, said)]
    client = openai.AsyncOpenAI(base_url=llm_url, api_key="bench", max_retries=0, timeout=openai.Timeout(args.timeout, connect=3.0))
    samples: list[Sample] = []
    try:
        for way, k in schedule(len(said)):
            if way == "straight":
                sample = await straight(client, bodies[k], said[k], args.timeout, args.whole_replies, args.straight_call)
            else:
                sample = await through_game(game_url, args.npc, said[k], k, args.timeout, args.whole_replies)
            await llm_idle(client, args.timeout)
            sample = replace(sample, counted=k >= args.warmup)
            samples.append(sample)
            print(f"  {sample.way:8} {k:3}  ttft {ms(sample.ttft):>8} ms  total {ms(sample.total):>8} ms  {sample.tokens:3} tokens"
                  f"  {sample.source if args.whole_replies else ''}{'' if sample.counted else '  (warm-up)'}", flush=True)
    finally:
        await client.close()
    return samples


# --- report -------------------------------------------------------------------------------------------
def report(args: argparse.Namespace, samples: list[Sample], fake) -> dict:
    counted = [s for s in samples if s.counted]
    by_way = {way: [s.ttft for s in counted if s.way == way] for way in ("straight", "game")}
    straight_by_line = {s.line: s.ttft for s in counted if s.way == "straight"}
    paired = [s.ttft - straight_by_line[s.line] for s in counted if s.way == "game" and s.line in straight_by_line]
    rows = [[label, len(v), ms(statistics.median(v)), ms(percentile(v, 90)), ms(min(v)), ms(max(v))]
            for label, v in (("straight to the LLM server", by_way["straight"]), ("through the game's websocket", by_way["game"]))]
    overhead = statistics.median(by_way["game"]) - statistics.median(by_way["straight"])
    rows.append(["game − straight (medians, p90s)", "", ms(overhead),
                 ms(percentile(by_way["game"], 90) - percentile(by_way["straight"], 90)), "", ""])
    rows.append(["game − straight, per line (paired)", len(paired), ms(statistics.median(paired)), ms(percentile(paired, 90)),
                 ms(min(paired)), ms(max(paired))])
    print("\n" + markdown_table(["time to first token", "n", "median ms", "p90 ms", "min ms", "max ms"], rows))
    if args.whole_replies:
        print(f"\nreply sources through the game: {', '.join(sorted({s.source for s in counted if s.way == 'game'}))}")
    summary = {"command": command_line(), "load": machine_load(), "median_overhead_ms": overhead * 1000,
               "paired_median_ms": statistics.median(paired) * 1000, "samples": [s.__dict__ for s in samples],
               "straight_median_ms": statistics.median(by_way["straight"]) * 1000,
               "game_median_ms": statistics.median(by_way["game"]) * 1000}
    if fake is not None:
        summary["identical_bodies"] = bodies_identical(fake, [s.line for s in samples if s.way == "game"])
        print(f"request bodies identical both ways (fake server's record): {summary['identical_bodies']} of "
              f"{len([s for s in samples if s.way == 'game'])} lines")
        table, split = split_table(args, counted, fake.arrivals)
        summary["split_ms"] = split
        print("\n" + table)
    low, high = median_interval(paired)
    summary["paired_median_ci95_ms"] = [low * 1000, high * 1000]
    summary["met"] = True if high < TARGET else False if low > TARGET else None
    verdict = {True: "met", False: "MISSED", None: "cannot tell at this noise (run more turns, or --fake)"}[summary["met"]]
    print(f"\ngame − straight per line: median {ms(statistics.median(paired))} ms, 95% interval {ms(low)} to {ms(high)} ms "
          f"(bootstrap over lines)\ntarget (the game adds under {TARGET * 1000:g} ms at the median): {verdict}; {machine_load()}")
    return summary


def figures(args: argparse.Namespace, summary: dict) -> list[dict]:
    """The table's figures: through the game against straight to the model server, in the same run,
    and with the fake, where the difference goes (before the request; after the first token)."""
    low, high = summary["paired_median_ci95_ms"]
    model = "the fake model server" if args.fake else "the local model server"
    out = [
        bench_report.figure(f"time to the first words a player sees, median (baseline: the first token straight from {model})",
                            summary["game_median_ms"], "ms", f"≤ baseline + {TARGET * 1000:g} ms", met=summary["met"],
                            baseline=summary["straight_median_ms"]),
        bench_report.figure(f"what the game adds, per line, median (95 % interval {low:.1f} to {high:.1f} ms)",
                            summary["paired_median_ms"], "ms", f"< {TARGET * 1000:g} ms", met=summary["met"]),
    ]
    if "split_ms" in summary:
        out += [
            bench_report.figure("of which before the model is asked (send → request arrives)", summary["split_ms"]["to"], "ms"),
            bench_report.figure("of which after its first token (the first sentence, checked)", summary["split_ms"]["back"], "ms"),
        ]
    return out


def split_table(args: argparse.Namespace, counted: list[Sample], arrivals: dict[str, list[float]]) -> str:
    """Where the time goes, from when the fake server saw each request arrive: before the request
    reached it, and after it sent the first token (it sends it `--first-token-delay` s later)."""
    parts: dict[str, dict[str, list[float]]] = {"straight": {"to": [], "back": []}, "game": {"to": [], "back": []}}
    for sample in counted:
        arrived = next((t for t in arrivals.get(sample.line, ()) if sample.started <= t <= sample.started + sample.ttft), None)
        if arrived is not None:
            parts[sample.way]["to"].append(arrived - sample.started)
            parts[sample.way]["back"].append(sample.started + sample.ttft - arrived - args.first_token_delay)
    rows, split = [], {}
    for key, label in (("to", "send → request arrives at the LLM server"), ("back", "first token sent → first token received")):
        straight_ms, game_ms = (statistics.median(parts[w][key]) for w in ("straight", "game"))
        rows.append([label, ms(straight_ms), ms(game_ms), ms(game_ms - straight_ms)])
        split[key] = (game_ms - straight_ms) * 1000
    return markdown_table(["where the time goes (medians)", "straight ms", "game ms", "game − straight ms"], rows), split


def player_line(body: dict) -> str:
    return next((m["content"] for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")


def bodies_identical(fake, said: list[str]) -> int:
    """How many lines reached the model as two byte-identical request bodies."""
    bodies: dict[str, list[dict]] = {}
    for body in fake.chat_requests:
        bodies.setdefault(player_line(body), []).append(body)
    return sum(1 for line in said if len(bodies.get(line, [])) == 2 and _unseeded(bodies[line][0]) == _unseeded(bodies[line][1]))


def _unseeded(body: dict) -> dict:
    """A body without its sampling seed, which the game derives from the game's id: the two ways of
    a line are asked in two fresh games."""
    return {key: value for key, value in body.items() if key != "seed"}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    print(command_line())
    print(machine_load(), flush=True)
    with ExitStack() as stack:
        if args.url:
            django_setup(args.sqlite)
            game_url, llm_url, fake = args.url, args.llm_url, None
        else:
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tankard_site.settings")
            game_env = {"TANKARD_REPLY_CACHE": "true" if args.reply_cache == "on" else "false",
                        "TANKARD_LLM_FIRST_TOKEN_TIMEOUT": str(args.timeout), "TANKARD_LLM_TOTAL_TIMEOUT": str(args.timeout)}
            server = GameServer(llm_base_url="http://127.0.0.1:1/v1", model=args.model, env=game_env)
            django_setup(server.sqlite_path)
            llm_url, fake = llm_server_start(args, stack)
            # The game server's model is at OPENAI_BASE_URL; so is this process's, which builds the straight
            # way's prompts (a remote model's prompt differs from the local one's: llm_is_local).
            server.env["OPENAI_BASE_URL"] = os.environ["OPENAI_BASE_URL"] = llm_url
            server.env["TANKARD_NEW_GAMES_PER_HOUR"] = "1000000"  # every turn is a fresh game from 127.0.0.1
            stack.enter_context(server)
            game_url = server.url
            print(f"LLM server {llm_url}; game server {game_url} (pid {server.pid})", flush=True)
        try:
            samples = asyncio.run(measure(args, game_url, llm_url))
        except KeyboardInterrupt:
            print("interrupted; stopping the servers", file=sys.stderr)
            return 130
        summary = report(args, samples, fake)
    bench_report.write(args.json, "llm_ttft", figures(args, summary))
    if args.raw:
        Path(args.raw).write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
