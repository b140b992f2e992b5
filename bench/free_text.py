"""What a player reads for free text no rule owns ("wave to wren", "pet the cat"): the line sets of
`bench/data/free_text.json` (tune, and held-out), typed into one game over its websocket.

    .venv/bin/python bench/free_text.py [--set tune|heldout|both] [--url http://127.0.0.1:8000] [--json PATH]

Without `--url` it starts a game of its own on a fresh SQLite file, with its own local model server,
as `./tankard play` does (`./tankard bench free_text`). Per line: the final frame (a narration, or the
suggestions of a line not understood) and its text. Counted: narrations in the second person about
the line (they start "You" and hold the line's first word), the model's narrations (`source`
"narrator") with a mark of the old narrator (first person, quotes, digits, a second line), suggestions, and deeds the game stopped in
the world (gameplay/rules/deeds.py: "punch the wall"; not counted among the narrations, nor in the
second-person share, whose lines are the others). Against a server of one's
own the lines are paced under the game's turns-per-minute limit. Which of the narrator's endings
read well is for a reader: the transcript is printed."""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import report  # noqa: E402
from bench._servers import GameServer, free_port  # noqa: E402
from bench._ws import check_loopback, machine_load  # noqa: E402

PACE = 1.6  # seconds between lines: under the default 40 turns a minute
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'll)\b|\b(?i:me|my|mine|we|our)\b")
_OPENERS = re.compile(r"^(?:i|i'll|let me)\s+", re.IGNORECASE)


# How the game's answers to a deed it stops end (gameplay/rules/deeds.py): "... You think better of it."
DEED_ENDINGS = ("think better of it.", "keep your hands to yourself.", "the moment passes.", "let it drop.")


def tally(rows: list[dict]) -> dict:
    narrated = [r for r in rows if r["kind"] == "narration" and not _deed(r)]
    return {
        "lines": len(rows),
        "narrated": len(narrated),
        "second_person_about_line": sum(_about(r) for r in narrated),
        "old_narrator_marks": sum(bool(_FIRST_PERSON.search(r["text"]) or re.search(r"[\"“\d\n]", r["text"])) for r in narrated
                                  if r.get("source") == "narrator"),  # the model's narrations, not the rules' answers
        "deeds_stopped": sum(r["kind"] == "narration" and _deed(r) for r in rows),
        "suggestions": sum(r["kind"] == "error" and r.get("code") == "unknown_command" for r in rows),
    }


def _deed(row: dict) -> bool:
    """A deed the game stopped: its answer, with what it set off on lines of their own ("(... is now wary of you.)")."""
    return row["text"].split("\n", 1)[0].endswith(DEED_ENDINGS)


def _about(row: dict) -> bool:
    verb = _OPENERS.sub("", row["line"].lower()).split()[0][:4]
    return row["text"].startswith("You") and verb in row["text"].lower()[3:]


async def play(url: str, lines: list[str], *, pace: float = PACE) -> list[dict]:
    jar = CookieJar()
    urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)).open(url + "/").read()
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    rows = []
    async with connect(url.replace("http", "ws", 1) + "/ws/play/", additional_headers={"Cookie": cookie, "Origin": url}) as ws:
        await ws.recv()  # the state frame
        for n, line in enumerate(lines):
            started = time.monotonic()
            await ws.send(json.dumps({"type": "command", "id": f"f{n}", "text": line}))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if frame.get("reply_to") == f"f{n}" and frame["type"] in ("narration", "error"):
                    break
            rows.append({"line": line, "kind": frame["type"], "code": frame.get("code", ""), "text": frame.get("text", ""),
                         "source": frame.get("source", ""), "seconds": round(time.monotonic() - started, 3)})
            print(f"{line[:34]:34} | {frame['type'][:4]} | {frame.get('text', '')[:150]}")
            await asyncio.sleep(max(0.0, pace - (time.monotonic() - started)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running game (loopback); default: start one with its own local model")
    parser.add_argument("--set", choices=("tune", "heldout", "both"), default="both")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sets = json.loads((ROOT / "bench/data/free_text.json").read_text())
    names = ("tune", "heldout") if args.set == "both" else (args.set,)
    if args.url:
        check_loopback(args.url)
        tallies = {name: tally(asyncio.run(play(args.url.rstrip("/"), sets[name]))) for name in names}
    else:
        env = {"TANKARD_TURNS_PER_MINUTE": "1000000", "TANKARD_NEW_GAMES_PER_HOUR": "1000000"}
        port = free_port()
        with GameServer(llm_base_url=f"http://127.0.0.1:{port}/v1", model="smollm2", env=env, local_model_port=port) as server:
            tallies = {name: tally(asyncio.run(play(server.url, sets[name], pace=0.0))) for name in names}
    print(f"\n{report.command()}; {machine_load()}")
    figures = []
    for name, summary in tallies.items():
        print(name, json.dumps(summary))
        lines = summary["lines"] - summary["deeds_stopped"]
        figures += [
            report.figure(f"{name} ({lines} lines no deed): in the second person, about the line", 100 * summary["second_person_about_line"] / lines, "%"),
            report.figure(f"{name}: with the old narrator's marks", summary["old_narrator_marks"], "lines", "= 0"),
            report.figure(f"{name}: answered with the suggestions", summary["suggestions"], "lines"),
            report.figure(f"{name}: deeds the game stopped (gameplay/rules/deeds.py)", summary["deeds_stopped"], "lines"),
        ]
    report.write(args.json, "free_text", figures)


if __name__ == "__main__":
    main()
