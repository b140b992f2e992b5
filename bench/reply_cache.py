"""Benchmark of the reply cache, end to end over the websocket.

Run from the project root:

    .venv/bin/python bench/reply_cache.py [--quick] [--json out.json]

Two sets are measured: the project's own (below) and the harder set of bench/data/reply_cache_hard.json
(bench/_cache_hard.py: 47 clusters asked of all eight NPCs, with typos, slang, idioms, lines said later
in a conversation, and negatives), whose "tune" and "held_out" parts are reported apart. The held-out
part is never used to tune the matcher. `--quick` leaves out the repeat, the embeddings-bench pairs
and pre-generation. `--json PATH` writes the figures ({"bench", "figures", "machine", "command",
"date"}) for `./tankard bench`.

The real ASGI application (origin check, session, consumer, play, voice) is driven through
Channels' WebsocketCommunicator, with the scripted fake OpenAI server (tests/llm/fake_openai.py)
as the model, on a throwaway SQLite database. Every line is the first line of a NEW game: a new
session opens the socket, says the line to Gareth and waits for npc.end.

Phases:
  seed        each canonical question (llm/reply_cache/questions.py) asked once: the model answers
              and the reply is kept; these are the only expected model calls for the paraphrases.
  paraphrases bench/data/cache_paraphrases.json (12 questions x 8 phrasings, used while the
              lexicon was built) and the "paraphrases" of bench/data/cache_holdout.json (12 x 6,
              written after it was frozen): a hit is a reply served from the cache for the
              right question.
  near-misses bench/data/cache_near_misses.json (81) and the "near_misses" of the holdout (45):
              any hit is a false hit. Then the near-miss pairs of bench/data/paraphrases.json
              (written for the embeddings benchmark): the first line is asked, then the second,
              each in a new game; the second must not hit. Its paraphrase pairs are reported too.
  repeat      every paraphrase asked again by new games: the phrasing has been seen before.
  pregen      the cache emptied, one player's line, `npc_replies_pregenerate`, then the holdout
              paraphrases: the share served with source "pregen".

Latency is from sending the say frame to receiving npc.end, for cached replies (source cache or
pregen); the embedding of a new phrasing is part of it. The process runs its numpy on one thread
(OMP/OpenBLAS = 1, as bench/embeddings_compare.py does): on a shared 2-core machine a
multi-threaded BLAS took 200-500 ms per sentence instead of 8-20.
"""
from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TANKARD_LOG_LEVEL", "WARNING")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cache_hard import forget_all_but, run_part  # noqa: E402
from _cache_own import GARETH_ALIASES, GARETH_ASKED, GARETH_NAMES, Tally, pct, served_question  # noqa: E402
from bench import report as bench_report  # noqa: E402
REPLY = ("Gareth Rusk, that's me, keeper of the Rusted Tankard since my father's day. Ale's honest, the stew is hot, "
         "and the beds are dry. Mind your manners and we'll get along, friend.")


def _setup(db_path: str) -> None:
    os.environ["TANKARD_SQLITE_PATH"] = db_path
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tankard_site.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _new_player() -> str:
    from django.contrib.sessions.backends.db import SessionStore

    from gameplay import services

    game = services.game_create(session_key="bench")
    session = SessionStore()
    session["game_id"] = str(game.id)
    session.create()
    return f"sessionid={session.session_key}"


async def _ask(line: str, npc: str = "gareth", cookie: str | None = None) -> tuple[dict, float]:
    """A game (a new one unless `cookie` says which) says `line`: (the npc.end frame, seconds from send to npc.end)."""
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator

    from tankard_site.asgi import application

    cookie = cookie or await database_sync_to_async(_new_player)()
    comm = WebsocketCommunicator(application, "/ws/play/", headers=[(b"origin", b"http://localhost"), (b"cookie", cookie.encode())])
    await comm.connect()
    await comm.receive_json_from()
    await comm.receive_json_from()
    started = time.perf_counter()
    await comm.send_json_to({"type": "say", "id": "b1", "npc": npc, "text": line})
    while True:
        frame = await comm.receive_json_from(timeout=20)
        if frame.get("reply_to") == "b1" and frame["type"] in {"npc.end", "error", "narration"}:
            elapsed = time.perf_counter() - started
            break
    await comm.disconnect()
    return frame, elapsed


def _clusters(path: Path) -> list[tuple[str, str]]:
    data = json.loads(path.read_text())
    return [(key, line) for key, lines in data.items() if not key.startswith("_") for line in lines]


async def _phase(tally: Tally, phase: str, items: list[tuple[str | None, str]], *, keep: bool = True) -> None:
    """`keep=False`: a reply kept for a line of this phase is removed again, so each line is measured
    against what the phases before left in the cache, not against the lines of its own phase."""
    from channels.db import database_sync_to_async

    from llm.models import ReplyCacheEntry

    before = set(await database_sync_to_async(lambda: list(ReplyCacheEntry.objects.values_list("id", flat=True)))())
    for expected, line in items:
        end, elapsed = await _ask(line)
        served = await database_sync_to_async(served_question)()
        tally.add(phase, line=line, expected=expected, end=end, elapsed=elapsed, served=served)
        if not keep:
            await database_sync_to_async(forget_all_but)(before)


async def _pairs(tally: Tally, pairs: list[dict], purge) -> None:
    """Each pair on an empty cache: would the second line be served the first one's reply?"""
    from channels.db import database_sync_to_async

    for pair in pairs:
        await asyncio.to_thread(purge)
        await _ask(pair["a"])
        first = await database_sync_to_async(served_question)()  # the key the first line's reply was kept under
        end, elapsed = await _ask(pair["b"])
        served = await database_sync_to_async(served_question)()
        phase = "embeddings-bench pairs: " + ("near-miss" if not pair["match"] else pair["kind"])
        if pair["match"]:  # right when served the first line's reply, whatever its key
            expected, served = ("first", "q:first") if served is not None and served == first else (None, served)
            tally.add(phase, line=pair["b"], expected=expected or "first", end=end, elapsed=elapsed, served=served)
        else:
            tally.add(phase, line=pair["b"], expected=None, end=end, elapsed=elapsed, served=served)


async def _run(fake, *, quick: bool = False, no_asked: bool = False) -> dict:
    from channels.db import database_sync_to_async

    from gameplay.background import asked_warm_all
    from gameplay.content import world_content_load
    from gameplay.world import world_changed
    from llm.reply_cache import QUESTIONS, index_warm, reply_cache_purge
    from npcs.models import Npc
    from npcs.pregen import npc_replies_pregenerate

    await database_sync_to_async(world_content_load)()
    if no_asked:  # a world whose editors wrote no questions: what the cache does for questions nobody foresaw
        await Npc.objects.all().aupdate(asked=[])
    await database_sync_to_async(world_changed)()
    from gameplay.world import world_aliases, world_asked, world_current

    GARETH_ALIASES[:] = [await database_sync_to_async(lambda: world_aliases(world_current(), "gareth"))()]
    GARETH_ASKED[:] = [await database_sync_to_async(lambda: world_asked(world_current(), "gareth"))()]
    await asyncio.to_thread(index_warm)
    await asyncio.to_thread(asked_warm_all)  # as the server's warm-up does before players come
    embed_ms = await asyncio.to_thread(_embedding_cost)
    gareth = await Npc.objects.aget(slug="gareth")
    purge = lambda: reply_cache_purge(npc_id=gareth.pk)  # noqa: E731
    tally = Tally()
    dev = _clusters(DATA / "cache_paraphrases.json")
    holdout = json.loads((DATA / "cache_holdout.json").read_text())
    held = [(key, line) for key, lines in holdout["paraphrases"].items() for line in lines]
    near = [(None, line) for _, line in _clusters(DATA / "cache_near_misses.json")] + [(None, l) for l in holdout["near_misses"]]
    pairs = json.loads((DATA / "paraphrases.json").read_text())

    await _ask("Hello there, good to be here")  # warm the path (imports, connections)
    chat_before = fake.chat_count
    await _phase(tally, "seed", [(q.key, q.text) for q in QUESTIONS])
    await _phase(tally, "paraphrases (dev set)", dev)
    await _phase(tally, "paraphrases (holdout)", held)
    chat_after_paraphrases = fake.chat_count
    await _phase(tally, "near-misses (dev + holdout)", near, keep=False)
    first_seen = list(tally.cached_ms)
    no_embedding = [ms for ms, line in zip(tally.cached_ms, tally.cached_lines) if _no_embedding(line)]
    embedded = [ms for ms, line in zip(tally.cached_ms, tally.cached_lines) if not _no_embedding(line)]
    tally.cached_ms.clear()
    own_cached_ms = list(tally.all_cached_ms)
    repeat_ms, report, pregen_s = [], None, 0.0
    if not quick:
        await _phase(tally, "repeat (phrasing seen before)", dev + held)
        repeat_ms = list(tally.cached_ms)
        await _pairs(tally, pairs, purge)
        await asyncio.to_thread(purge)
        await _ask("Where's the cellar?")
        started = time.perf_counter()
        report = await asyncio.to_thread(npc_replies_pregenerate, max_replies=100)
        pregen_s = time.perf_counter() - started
        await _phase(tally, "after pre-generation (holdout)", held)
    hard = {}
    for part in ("tune", "held_out"):
        hard[part] = (await run_part(lambda cookie, line, npc: _ask(line, npc, cookie), part)).as_dict()
    return {
        "hard": hard, "own_cached_ms": own_cached_ms, "quick": quick,
        "rows": tally.rows, "first_seen_ms": first_seen, "repeat_ms": repeat_ms, "model_ms": tally.model_ms,
        "paraphrase_model_calls": chat_after_paraphrases - chat_before, "pregen_made": report.made if report else 0,
        "pregen_s": pregen_s,
        "embed_ms": embed_ms, "no_embedding_ms": no_embedding, "embedded_ms": embedded,
        "all_cached_ms": tally.all_cached_ms,
    }


def _no_embedding(line: str) -> bool:
    from llm.reply_cache import question_match

    return question_match(line, names=GARETH_NAMES).reason == "match:exemplar-words"


def _embedding_cost() -> list[float]:
    """What embedding one new line costs in this process now (the machine's load shows here)."""
    from llm import embeddings

    costs = []
    for i in range(40):
        started = time.perf_counter()
        embeddings.embed_one(f"What would a traveller number {i} drink on a cold night?")
        costs.append((time.perf_counter() - started) * 1000)
    return costs


def _sweep() -> list[tuple[float, float, int, int, int, int, int]]:
    """The matcher alone (no websocket) at other thresholds: what MIN_SCORE and MIN_MARGIN buy."""
    from llm.reply_cache import matcher

    data = json.loads((DATA / "cache_holdout.json").read_text())
    positives = _clusters(DATA / "cache_paraphrases.json") + [(k, l) for k, ls in data["paraphrases"].items() for l in ls]
    negatives = [l for _, l in _clusters(DATA / "cache_near_misses.json")] + data["near_misses"]
    pairs = [p for p in json.loads((DATA / "paraphrases.json").read_text()) if not p["match"]]
    saved = matcher.MIN_SCORE, matcher.MIN_MARGIN
    rows = []
    try:
        for score in (0.0, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
            for margin in (0.0, 0.05, 0.1):
                matcher.MIN_SCORE, matcher.MIN_MARGIN = score, margin
                matcher._matches.clear()
                ask = lambda line: matcher.question_match(line, names=GARETH_NAMES)  # noqa: E731
                rows.append((score, margin, sum(ask(l).question == k for k, l in positives), len(positives),
                             sum(ask(l).question is not None for l in negatives), len(negatives),
                             sum(ask(p["a"]).key == ask(p["b"]).key for p in pairs)))
    finally:
        matcher.MIN_SCORE, matcher.MIN_MARGIN = saved
        matcher._matches.clear()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", metavar="PATH", help="Also write the figures here, for ./tankard bench.")
    parser.add_argument("--quick", action="store_true", help="Leave out the repeat, the pairs and pre-generation.")
    parser.add_argument("--sweep", action="store_true", help="Only the matcher's threshold sweep (no websocket).")
    parser.add_argument("--no-asked", action="store_true",
                        help="The NPCs without their editors' questions (Npc.asked emptied): the matcher's own reach. Prints only.")
    args = parser.parse_args()
    if args.sweep:
        with tempfile.TemporaryDirectory() as tmp:
            _setup(str(Path(tmp) / "bench.sqlite3"))
            print("| MIN_SCORE | MIN_MARGIN | paraphrases matched | near-misses matched | near-miss pairs sharing a key (of 25) |")
            print("|---|---|---|---|---|")
            for score, margin, hits, lines, false, near, pairs in _sweep():
                print(f"| {score:.2f} | {margin:.2f} | {hits}/{lines} | {false}/{near} | {pairs} |")
        return
    with tempfile.TemporaryDirectory() as tmp:
        _setup(str(Path(tmp) / "bench.sqlite3"))
        from django.conf import settings

        from tests.llm.fake_openai import FakeOpenAI, Reply

        with FakeOpenAI(default=Reply(REPLY)) as fake:
            os.environ["OPENAI_BASE_URL"] = fake.base_url
            os.environ["OPENAI_API_KEY"] = "bench"
            settings.TANKARD_LLM = {**settings.TANKARD_LLM, "CONCURRENCY": 8}
            settings.TANKARD_TURNS_PER_MINUTE = 100000
            load_before = os.getloadavg()[0]
            results = asyncio.run(_run(fake, quick=args.quick, no_asked=args.no_asked))
            results["load"] = (load_before, os.getloadavg()[0])
    _report(results)
    _report_hard(results)
    if args.json and not args.no_asked:
        Path(args.json).write_text(json.dumps(figures(results, argv=sys.argv), indent=1))


def _report(results: dict) -> None:
    print(f"machine: {os.cpu_count()} cores, load average before/after {results['load'][0]:.1f}/{results['load'][1]:.1f}, "
          f"Python {sys.version.split()[0]}")
    print("| phase | lines | served from cache | right question | same words again | false hits |")
    print("|---|---|---|---|---|---|")
    for phase, row in results["rows"].items():
        print(f"| {phase} | {row['lines']} | {row['hits']} | {row['right']} | {row['repeats']} | {len(row['false'])} |")
    paraphrase_rows = [r for p, r in results["rows"].items() if p.startswith("paraphrases")]
    asked, right = sum(r["lines"] for r in paraphrase_rows), sum(r["right"] for r in paraphrase_rows)
    served = sum(r["hits"] for r in results["rows"].values() if r is not results["rows"].get("seed"))
    false = sum(len(r["false"]) for r in results["rows"].values())
    near = [r for p, r in results["rows"].items() if "near-miss" in p]
    near_lines, near_false = sum(r["lines"] for r in near), sum(len(r["false"]) for r in near)
    print()
    print(f"paraphrase hit rate: {right}/{asked} = {right / asked:.1%}")
    ordered = [line for r in results["rows"].values() for line in r.get("ordered", [])]
    if ordered:
        print(f"not counted: {len(ordered)} lines the rules carried out as orders to Gareth (gameplay/rules/orders.py), "
              f"with no reply to cache, in every phase: " + "; ".join(repr(line) for line in dict.fromkeys(ordered)))
    print(f"false hits on near-misses: {near_false}/{near_lines} = {near_false / near_lines:.1%}; "
          f"false hits among all {served} cached replies served: {false}")
    calls = results["paraphrase_model_calls"]
    print(f"model calls for the {len(results['rows']['seed']['misses'])} seeds and {asked} paraphrases: {calls} "
          f"(without the cache: {calls + right}; saved {right}, {right / (calls + right):.1%})")
    print(f"embedding one new line (for comparison): p50 {pct(results['embed_ms'], 0.5):.1f} ms, "
          f"p99 {pct(results['embed_ms'], 0.99):.1f} ms")
    for name, key in (("cached reply, every one served (all phases)", "all_cached_ms"),
                      ("cached reply, phrasing new to the process", "first_seen_ms"),
                      ("  of which: an exemplar's content words (no embedding)", "no_embedding_ms"),
                      ("  of which: embedded", "embedded_ms"), ("cached reply, phrasing seen before", "repeat_ms"),
                      ("model reply (fake server answering at once)", "model_ms")):
        values = results[key]
        if values:
            print(f"{name}: n={len(values)} p50 {pct(values, 0.5):.1f} ms, p99 {pct(values, 0.99):.1f} ms, "
                  f"max {max(values):.1f} ms")
    pregen = results["rows"].get("after pre-generation (holdout)", {})
    if pregen:
        print(f"pre-generation: {results['pregen_made']} replies made in {results['pregen_s']:.1f} s; then "
              f"{pregen['pregen']}/{pregen['lines']} holdout paraphrases were served with source pregen")
    for phase, row in results["rows"].items():
        for line, question in row["false"]:
            print(f"  false hit [{phase}]: {line!r} served {question}")
        if phase != "seed":
            for line in row["misses"]:
                print(f"  miss [{phase}]: {line!r}")




CACHED_P99_TARGET_MS = 15.0


def _hard_figures(part: dict) -> tuple[float, float, float]:
    """Hit rate (%), false hits (% of every line asked, negatives included), cached p99 (ms)."""
    asked = part["lines"] + part["negatives"]
    return (100 * part["hits"] / part["lines"], 100 * len(part["false"]) / asked, pct(part["cached_ms"], 0.99))


def _report_hard(results: dict) -> None:
    print()
    print("harder set (bench/data/reply_cache_hard.json): each line against its cluster's seed reply alone")
    print("| part | lines | hits | of which later in a conversation | negatives | false hits | cached p50 / p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for name, part in results["hard"].items():
        hit, false, p99 = _hard_figures(part)
        print(f"| {name} | {part['lines']} | {part['hits']} ({hit:.1f} %) | {part['later_hits']} of {part['later_lines']} | "
              f"{part['negatives']} | {len(part['false'])} ({false:.1f} %) | {pct(part['cached_ms'], 0.5):.1f} / {p99:.1f} |")
    tune = results["hard"]["tune"]
    for npc, line, served in tune["false"]:
        print(f"  false hit [tune] {npc}: {line!r} served the reply of {served}")
    for npc, line in tune["misses"]:
        print(f"  miss [tune] {npc}: {line!r}")
    print("  (the held-out part's misses are not printed: it is read for its figures only)")


def figures(results: dict, *, argv: list[str]) -> dict:
    """The figures in the form `./tankard bench` reads."""
    import datetime

    rows = results["rows"]
    paraphrase = [r for p, r in rows.items() if p.startswith("paraphrases")]
    near = [r for p, r in rows.items() if "near-miss" in p]
    asked, right = sum(r["lines"] for r in paraphrase), sum(r["right"] for r in paraphrase)
    near_lines, near_false = sum(r["lines"] for r in near), sum(len(r["false"]) for r in near)
    own_p99 = pct(results["own_cached_ms"], 0.99)
    out = [
        _figure("own set: paraphrase hits", 100 * right / asked, "%", ">= 80 %", right / asked >= 0.8),
        _figure("own set: false hits on near-misses", 100 * near_false / near_lines, "%", "<= 1 %", near_false <= 0.01 * near_lines),
        _figure("own set: cached reply p99", own_p99, "ms", f"< {CACHED_P99_TARGET_MS:g} ms", own_p99 < CACHED_P99_TARGET_MS),
    ]
    for name, part in results["hard"].items():
        hit, false, p99 = _hard_figures(part)
        label = "harder set, " + name.replace("_", "-")
        out += [
            _figure(f"{label}: hits", hit, "%", ">= 80 %", hit >= 80),
            _figure(f"{label}: false hits", false, "%", "<= 1 %", false <= 1),
            _figure(f"{label}: cached reply p99", p99, "ms", f"< {CACHED_P99_TARGET_MS:g} ms",
                    None if p99 != p99 else p99 < CACHED_P99_TARGET_MS),
        ]
    return {
        "bench": "reply_cache", "figures": out,
        "machine": bench_report.machine(),
        "command": " ".join([".venv/bin/python", "bench/reply_cache.py", *argv[1:]]),
        "date": datetime.date.today().isoformat(),
    }


def _figure(name: str, value: float, unit: str, target: str, met: bool | None) -> dict:
    value = None if value != value else round(value, 2)  # NaN (nothing was served): no figure
    return {"name": name, "value": value, "unit": unit, "target": target, "met": None if value is None else met,
            "baseline": None}


if __name__ == "__main__":
    main()
