"""Canon probes on the real model: how often an NPC's reply shows a contradiction of a canon fact,
and how often it uses the fact when asked about it, through the game's own reply path.

    nice .venv/bin/python bench/canon_probes.py [--samples 3] [--probes tests/playtest/canon.json]

It makes a fresh SQLite database (migrated, the shipped world loaded, canon facts included), starts
the local model (SmolLM2-135M through llama.cpp) on a free port, and for each probe line and sample
opens a new game, asks the NPC (`services.say_plan_inspect`: any NPC, wherever they are; a first
meeting) and voices the reply with `gameplay.voice.avoice_reply`: the prompt with its canon facts,
the reply cache, the sentence checks and the canon veto, the regeneration and the authored line.
A reply is a contradiction when it holds one of the probe's `contradicts` words, and uses the fact
when it holds one of its `expect` words (case-insensitive); a probe whose `note` starts "leading" carries a
false premise ("Your wife Mary, wasn't it?"), the others ask directly. Prints each reply with
`--show`, then a JSON summary.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", default=str(ROOT / "tests" / "playtest" / "canon.json"))
    parser.add_argument("--samples", type=int, default=3, help="replies per probe (each in a new game: another seed)")
    parser.add_argument("--show", action="store_true", help="print every reply")
    parser.add_argument("--out", help="also write the summary and every reply to this JSON file")
    parser.add_argument("--cache", action="store_true", help="keep the reply cache on (a probe's later samples are then its first reply)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="canon-probes-"))
    os.environ.update(TANKARD_SQLITE_PATH=str(workdir / "db.sqlite3"), TANKARD_LOCAL_LLM_PORT=str(_free_port()),
                      DJANGO_SETTINGS_MODULE="tankard_site.settings")
    if not args.cache:  # each sample a model reply of its own, not the first one's kept reply
        os.environ["TANKARD_REPLY_CACHE"] = "0"
    for name in ("DATABASE_URL", "REDIS_URL", "OPENAI_BASE_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.core.management import call_command

    from llm.local_server import start_local_server, stop_local_server

    call_command("migrate", verbosity=0)
    call_command("loadworld", verbosity=0)
    supervisor = start_local_server(wait=120)
    try:
        if not supervisor.wait_ready(120):
            print("the local model did not start", file=sys.stderr)
            return 1
        probes = json.loads(Path(args.probes).read_text(encoding="utf-8"))
        rows = asyncio.run(_play(probes, args.samples, show=args.show))
    finally:
        stop_local_server()
    return _report(rows, args.samples, out=args.out)


async def _play(probes: list[dict], samples: int, *, show: bool) -> list[dict]:
    from channels.db import database_sync_to_async

    from gameplay import services
    from gameplay.voice import avoice_reply, voice_inputs

    async def send(frame: dict) -> None:
        return None

    async def finish(voiced, keep_in_cache):
        await database_sync_to_async(keep_in_cache)()
        return voiced

    rows = []
    for probe in probes:
        for sample in range(samples):
            game = await database_sync_to_async(services.game_create)(session_key=f"canon-{sample}")
            plan = await database_sync_to_async(services.say_plan_inspect)(game_id=str(game.pk), npc=probe["npc"], text=probe["text"])
            inputs = await database_sync_to_async(voice_inputs)(plan)
            started = time.monotonic()
            voiced = await avoice_reply(plan, send, inputs=inputs, finish=finish)
            text = voiced.text.lower()
            row = {"npc": probe["npc"], "line": probe["text"], "leading": str(probe.get("note", "")).startswith("leading"), "reply": voiced.text,
                   "source": voiced.source,
                   "used": any(w.lower() in text for w in probe.get("expect", [])),
                   "contradiction": any(w.lower() in text for w in probe.get("contradicts", [])),
                   "seconds": round(time.monotonic() - started, 2)}
            rows.append(row)
            if show:
                print(f"[{row['source']:8}] {'X' if row['contradiction'] else ' '}{'+' if row['used'] else ' '} "
                      f"{probe['npc']}: {probe['text']!r} -> {voiced.text!r}", flush=True)
    return rows


def _report(rows: list[dict], samples: int, *, out: str | None = None) -> int:
    from prometheus_client import REGISTRY

    n = len(rows)
    contradictions = sum(r["contradiction"] for r in rows)
    used = sum(r["used"] for r in rows)
    direct = [r for r in rows if not r["leading"]]
    sources: dict[str, int] = {}
    for r in rows:
        sources[r["source"]] = sources.get(r["source"], 0) + 1
    vetoes = sum(s.value for m in REGISTRY.collect() if m.name == "tankard_canon_vetoes" for s in m.samples
                 if s.name.endswith("_total"))
    summary = {"replies": n, "samples_per_probe": samples, "contradiction_shown": round(contradictions / n, 3),
               "fact_used": round(used / n, 3),
               "fact_used_asked_directly": round(sum(r["used"] for r in direct) / len(direct), 3) if direct else None,
               "sources": sources, "canon_vetoes": vetoes,
               "load": Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else None}
    print(json.dumps(summary, indent=1))
    if out:
        summary["command"] = " ".join(["bench/canon_probes.py", *sys.argv[1:]])
        Path(out).write_text(json.dumps({"summary": summary, "replies": rows}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
