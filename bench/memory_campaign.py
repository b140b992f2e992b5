"""A whole campaign against NPC memory: is it bounded, fast, and does it still remember?

Run from the project root (about ten minutes on the 2-core machine):

    .venv/bin/python bench/memory_campaign.py [--turns 5000] [--json figures.json] [--raw out.json]

One player talks with one NPC for `--turns` exchanges through the memory services directly (no
game, no model: summaries take the extractive path, TANKARD_MEMORY["USE_LLM"] is off), in a
throwaway SQLite database. Each turn does what the reply path does: retrieve memories for the
player's line under the prompt's memory budget (`PromptBudget.from_context_window(2048, 120)
.memories`, counted with `llm.prompts.count_tokens`), mark them used, and record the exchange;
every 5 turns the periodic job (`memory_summarise_due`) runs. Game time moves 3 minutes a turn.

Planted facts (bench/data/memory_planted_facts.json): 20 the fact patterns catch and 5 free-text
"story" facts, told in the first 150 turns among the small talk, and asked about after 1,000
turns and at the end. A fact is recalled when a retrieved memory for its question contains its
answer. The small talk includes distractors (cider, ships, wolves, daggers...) and "noise"
goals and promises, so the fact cap and relevance are both exercised.

Reported: memory-section tokens (max, mean; never over budget), rows per (game, NPC) over the
campaign, the bytes it keeps in the database and in RAM (tracemalloc delta of loading its
retrieval matrix), retrieval time during the campaign, and retrieval time at 5,000 memories
(one (game, NPC) with 5,000 unsummarised records made directly, random unit vectors: timing does
not depend on their values) -- with the query's embedding cached, with a fresh query (one model
forward pass), and cold (loading the matrix from the database), as wall time and as the thread's
CPU time (which waiting for a core on a shared machine does not inflate). BLAS runs on one
thread, as the embedding benchmark does.
"""
from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import report as bench_report  # noqa: E402

FACTS = Path(__file__).resolve().parent / "data" / "memory_planted_facts.json"
NPC = "bram"
MINUTES_PER_TURN = 3
SUMMARISE_EVERY = 5

SMALL_TALK = [
    "another {drink}, if you please.", "is the {drink} any good this year?", "what's in the {food} tonight?",
    "has it rained much on the {road} road?", "who's that playing {game} in the corner?", "any news from {town}?",
    "the fire's warm tonight.", "do ships still come up the river to {town}?", "I heard wolves howling near {town}.",
    "how much is a room for {n} nights?", "is the bard playing later?", "my boots are soaked through.",
    "do you know a good {trade} in {town}?", "the {road} road was full of {weather}.", "what do you make of the new {title}?",
    "is the cellar full of {drink}?", "someone dropped a dagger by the door.", "the harvest looks poor around {town}.",
    "do you ever close the tavern?", "that minstrel sings of {town} badly.", "I could eat {n} bowls of {food}.",
    "tell me a story about {town}.", "who owns the {colour} horse outside?", "the {drink} tastes of the barrel.",
    "I walked {n} miles in the {weather} today.", "the {trade} in {town} charged me {n} copper.",
]
OPENERS = ["", "Well, ", "Say, ", "Tell me, ", "Hm, ", "Barkeep, ", "Friend, ", "Honestly, ", "By the gods, ", "So, "]
NOISE = [  # facts the patterns catch too: the cap and the ranking must cope with them
    "I'm looking for a clean tankard.", "I'm looking for somewhere to sit.", "I promise to wipe my boots next time.",
    "I'm looking for the privy.", "I promise I'll tip the bard.", "I'm looking for my other glove.",
]
REPLIES = [
    "Aye, that it is.", "Can't say I know, friend.", "Mind the step on your way out.", "Ha! You're not the first to say so.",
    "The {drink} is fresh from the cellar.", "They say {town} is quiet these days.", "Keep your coin close in here.",
    "I'll ask around {town} for you.", "That'll be {n} copper.", "The {road} road's been bad all season.",
    "The {trade} owes me {n} silver himself.", "{weather} again tomorrow, mark my words.", "Try the {food}, it's fresh.",
    "The {title} drinks here on market days.", "I've a cousin in {town}.", "Don't play {game} with the tinkers.",
]
FILL = {
    "drink": ["ale", "cider", "mead", "stout", "wine", "porter", "perry", "small beer"],
    "food": ["stew", "pie", "broth", "bread", "roast", "pottage"],
    "road": ["north", "east", "river", "mill", "old", "king's"],
    "town": ["Brackwater", "Dunmere", "Saltmarsh", "Highfold", "the capital", "Oakvale", "Redcliff", "Thornby"],
    "game": ["dice", "cards", "knucklebones", "draughts"],
    "trade": ["blacksmith", "cooper", "tanner", "healer", "farrier", "chandler"],
    "title": ["reeve", "sheriff", "priest", "magistrate"],
    "weather": ["mud", "rain", "snow", "fog", "wind"],
    "colour": ["grey", "black", "white", "chestnut", "dappled"],
    "n": [str(i) for i in range(2, 30)],
}


def _setup_django(db_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "tankard_site.settings"
    os.environ["TANKARD_SQLITE_PATH"] = str(db_path)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.TANKARD_MEMORY = {**settings.TANKARD_MEMORY, "USE_LLM": False}
    call_command("migrate", verbosity=0)


def _fill(template: str, rng: random.Random) -> str:
    return template.format(**{k: rng.choice(v) for k, v in FILL.items()})


def _small_talk(rng: random.Random) -> str:
    line = rng.choice(OPENERS) + _fill(rng.choice(SMALL_TALK), rng)
    return line[0].upper() + line[1:]


def _percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


class Campaign:
    def __init__(self, *, turns: int, seed: int) -> None:
        from llm.prompts import PromptBudget, count_tokens

        self.turns = turns
        self.rng = random.Random(seed)
        self.game_id = str(uuid.uuid4())
        self.budget = PromptBudget.from_context_window(2048, 120).memories
        self.count_tokens = count_tokens
        self.facts = json.loads(FACTS.read_text())["facts"]
        self.plan = {10 + 6 * i: fact for i, fact in enumerate(self.facts)}  # turns 10..154
        self.section_tokens: list[int] = []
        self.retrieve_ms: list[float] = []
        self.record_ms: list[float] = []
        self.peak_rows = 0
        self.recall: dict[int, dict] = {}

    def player_line(self, turn: int) -> str:
        if turn in self.plan:
            return self.plan[turn]["line"]
        if turn % 37 == 0:
            return self.rng.choice(NOISE)
        return _small_talk(self.rng)

    def play(self, checkpoints: tuple[int, ...]) -> None:
        from memory import services
        from memory.models import MemoryRecord
        from memory.selectors import memory_retrieve

        for turn in range(1, self.turns + 1):
            minute = turn * MINUTES_PER_TURN
            line = self.player_line(turn)
            started = time.perf_counter()
            found = memory_retrieve(game_id=self.game_id, npc_slug=NPC, query=line, now_minute=minute,
                                    token_budget=self.budget, count_tokens=self.count_tokens)
            self.retrieve_ms.append((time.perf_counter() - started) * 1000)
            services.memory_mark_used(game_id=self.game_id, npc_slug=NPC, ids=[m.id for m in found], now_minute=minute)
            self.section_tokens.append(sum(self.count_tokens(m.text) for m in found))
            reply = "I'll remember that." if turn in self.plan else _fill(self.rng.choice(REPLIES), self.rng)
            started = time.perf_counter()
            services.memory_record_exchange(game_id=self.game_id, npc_slug=NPC, player_line=line, npc_reply=reply, game_minute=minute)
            self.record_ms.append((time.perf_counter() - started) * 1000)
            if turn % SUMMARISE_EVERY == 0:
                services.memory_summarise_due()
            self.peak_rows = max(self.peak_rows, MemoryRecord.objects.filter(game_id=self.game_id, npc_slug=NPC).count())
            if turn in checkpoints:
                self.recall[turn] = self.probe(minute)
                print(f"turn {turn}: recall {self.recall[turn]['all']:.0%}", file=sys.stderr, flush=True)

    def probe(self, minute: int) -> dict:
        """Ask about every planted fact (read-only: nothing is recorded or marked used)."""
        from memory.selectors import memory_retrieve

        hits = {"pattern": 0, "story": 0}
        missed = []
        for fact in self.facts:
            found = memory_retrieve(game_id=self.game_id, npc_slug=NPC, query=fact["question"], now_minute=minute,
                                    token_budget=self.budget, count_tokens=self.count_tokens)
            if any(fact["answer"].lower() in m.text.lower() for m in found):
                hits[fact["kind"]] += 1
            else:
                missed.append(fact["answer"])
        totals = {kind: sum(f["kind"] == kind for f in self.facts) for kind in hits}
        return {
            "pattern": hits["pattern"] / totals["pattern"], "story": hits["story"] / totals["story"],
            "all": sum(hits.values()) / len(self.facts), "missed": missed,
        }


def footprint_and_ram(game_id: str) -> dict:
    """Rows and database bytes, and the RAM its retrieval matrix takes (tracemalloc delta)."""
    from memory.retrieval import matrix_cache
    from memory.selectors import memory_footprint, memory_matrix

    footprint = memory_footprint(game_id=game_id, npc_slug=NPC)
    matrix_cache().clear()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    matrix = memory_matrix(game_id=game_id, npc_slug=NPC)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return {"footprint": footprint.__dict__, "matrix_bytes": matrix.nbytes, "tracemalloc_bytes": held}


def stress_retrieval(size: int, rng: random.Random) -> dict:
    """Retrieval at `size` memories in one (game, NPC), summariser off."""
    import numpy as np

    from llm import embeddings
    from llm.prompts import PromptBudget, count_tokens
    from memory.models import MemoryLedger, MemoryRecord
    from memory.retrieval import matrix_cache
    from memory.selectors import memory_retrieve

    game_id = str(uuid.uuid4())
    vectors = np.random.default_rng(7).normal(size=(size, embeddings.EMBEDDING_DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = []
    for i in range(size):
        text = _small_talk(rng) if i % 2 == 0 else _fill(rng.choice(REPLIES), rng)
        rows.append(MemoryRecord(game_id=game_id, npc_slug=NPC, kind="turn", speaker="player" if i % 2 == 0 else "npc",
                                 text=text, importance=rng.random() * 0.5, embedding=embeddings.to_bytes(vectors[i]),
                                 game_minute=i, last_used_minute=i))
    MemoryRecord.objects.bulk_create(rows, batch_size=500)
    MemoryLedger.objects.create(game_id=game_id, npc_slug=NPC, raw_count=size)
    budget = PromptBudget.from_context_window(2048, 120).memories
    queries = [_small_talk(rng) + f" ({i})" for i in range(200)]

    cpu: dict[str, list[float]] = {"cold": [], "cached": [], "fresh": []}

    def run(query: str, kind: str) -> float:
        started, started_cpu = time.perf_counter(), time.thread_time()
        found = memory_retrieve(game_id=game_id, npc_slug=NPC, query=query, now_minute=size, token_budget=budget,
                                count_tokens=count_tokens)
        cpu[kind].append((time.thread_time() - started_cpu) * 1000)
        elapsed = (time.perf_counter() - started) * 1000
        assert sum(count_tokens(m.text) for m in found) <= budget
        return elapsed

    cold = []
    for query in queries[:20]:
        embeddings.embed_one(query)
        matrix_cache().clear()
        cold.append(run(query, "cold"))
    embeddings.embed([q for q in queries])  # the reply path has embedded the line already
    cached = [run(q, "cached") for q in queries]
    embeddings.clear_cache()
    fresh = [run(q + " again", "fresh") for q in queries]
    return {
        "size": size,
        "cached_query_ms": _percentiles(cached),
        "fresh_query_ms": _percentiles(fresh),
        "cold_matrix_ms": _percentiles(cold),
        "cpu_ms": {kind: _percentiles(values) for kind, values in cpu.items()},
        "matrix_bytes": matrix_cache().get((game_id, NPC)).nbytes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=5000)
    parser.add_argument("--stress-size", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--json", help="Write the figures here, for ./tankard bench (bench/report.py).")
    parser.add_argument("--raw", type=Path, help="Write every result here.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _setup_django(Path(tmp) / "memory-bench.sqlite3")
        from memory.conf import memory_config

        started = time.perf_counter()
        campaign = Campaign(turns=args.turns, seed=args.seed)
        checkpoints = tuple(t for t in (1000, args.turns) if t <= args.turns)
        campaign.play(checkpoints)
        played_s = time.perf_counter() - started
        results = {
            "turns": args.turns,
            "config": memory_config().__dict__,
            "budget_tokens": campaign.budget,
            "section_tokens_max": max(campaign.section_tokens),
            "section_tokens_mean": round(statistics.fmean(campaign.section_tokens), 1),
            "over_budget": sum(t > campaign.budget for t in campaign.section_tokens),
            "peak_rows": campaign.peak_rows,
            "campaign_retrieve_ms": _percentiles(campaign.retrieve_ms),
            "record_ms": _percentiles(campaign.record_ms),
            "recall": campaign.recall,
            "end": footprint_and_ram(campaign.game_id),
            "stress": stress_retrieval(args.stress_size, random.Random(args.seed)),
            "played_seconds": round(played_s, 1),
        }
    report(results)
    bench_report.write(args.json, "memory_campaign", figures(results))
    if args.raw:
        args.raw.write_text(json.dumps(results, indent=2, default=str))


def figures(r: dict) -> list[dict]:
    """The table's figures: recall, the budget, bounded rows, retrieval at 5,000 memories, bytes."""
    cfg, stress, fp = r["config"], r["stress"], r["end"]["footprint"]
    rows_bound = cfg["max_facts"] + cfg["max_summaries"] + 1 + cfg["summarise_after"] + 2 * SUMMARISE_EVERY
    out = [bench_report.figure(f"recall of planted facts after {turn} turns", 100 * recall["all"], "%",
                               ">= 95 %" if turn == 1000 else "")
           for turn, recall in sorted(r["recall"].items())]
    out += [
        bench_report.figure(f"retrievals over the memory budget ({r['budget_tokens']} tokens), of {r['turns']}",
                            r["over_budget"], "", "= 0"),
        bench_report.figure("memory rows per (game, NPC), peak (bound: facts + summaries + raw before a fold)",
                            r["peak_rows"], "rows", f"<= {rows_bound}"),
        bench_report.figure(f"retrieval at {stress['size']:,} memories, query embedding at hand, p99",
                            stress["cached_query_ms"][1], "ms", "< 10 ms"),
        bench_report.figure("the same, the thread's CPU time (what waiting for a core does not inflate)",
                            stress["cpu_ms"]["cached"][1], "ms"),
        bench_report.figure(f"retrieval at {stress['size']:,} memories, new line (one embedding), p99",
                            stress["fresh_query_ms"][1], "ms"),
        bench_report.figure("bytes per (game, NPC) at the end: database + retrieval matrix in RAM",
                            (fp["database_bytes"] + r["end"]["tracemalloc_bytes"]) / 1024, "KB"),
    ]
    return out


def report(r: dict) -> None:
    end, stress = r["end"], r["stress"]
    fp = end["footprint"]
    print(f"turns: {r['turns']} (played in {r['played_seconds']} s)")
    print(f"memory section tokens: max {r['section_tokens_max']}, mean {r['section_tokens_mean']}, "
          f"budget {r['budget_tokens']}, retrievals over budget: {r['over_budget']}")
    print(f"rows per (game, NPC): peak {r['peak_rows']}; at the end {fp['records']} "
          f"({fp['facts']} facts, {fp['summaries']} summaries, {fp['raw']} raw) + {fp['archives']} archive rows "
          f"holding {fp['archived_records']} folded records")
    print(f"bytes per (game, NPC): database {fp['database_bytes']:,}; RAM (retrieval matrix) {end['matrix_bytes']:,} "
          f"counted, {end['tracemalloc_bytes']:,} by tracemalloc")
    for turn, recall in sorted(r["recall"].items()):
        print(f"recall after {turn} turns: {recall['all']:.0%} (pattern facts {recall['pattern']:.0%}, "
              f"story facts {recall['story']:.0%}); missed: {', '.join(recall['missed']) or 'none'}")
    p50, p99 = r["campaign_retrieve_ms"]
    print(f"retrieval during the campaign (~{fp['records']} memories, query embedded here): p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    p50, p99 = r["record_ms"]
    print(f"recording an exchange (embeds both lines): p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    for label, key, kind in (("query embedding cached", "cached_query_ms", "cached"),
                             ("fresh query (embeds it)", "fresh_query_ms", "fresh"),
                             ("cold: matrix loaded from the database", "cold_matrix_ms", "cold")):
        (p50, p99), (c50, c99) = stress[key], stress["cpu_ms"][kind]
        print(f"retrieval at {stress['size']:,} memories, {label}: p50 {p50:.2f} ms, p99 {p99:.2f} ms "
              f"(CPU time p50 {c50:.2f} ms, p99 {c99:.2f} ms)")
    print(f"retrieval matrix at {stress['size']:,} memories: {stress['matrix_bytes']:,} bytes")


if __name__ == "__main__":
    main()
