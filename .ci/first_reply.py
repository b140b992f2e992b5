"""One real NPC reply from a running game, as a new player gets it: GET / for a game, open the
websocket, say good evening to the first NPC present, and read the reply's `npc.end`. Exit 0 when
its `source` is `llm` (the model wrote it), 1 when it is anything else (a fallback means the model
is broken). Used by .ci/fresh-install after `./tankard play` on a fresh clone.

The lines are small talk the game has no answer of its own to (asked "What is good here?", the game
names what it recommends when the model does not, which says nothing of the model). A reply may
still fail the game's checks now and then, so up to three lines are said: a broken model fails all.

    .venv/bin/python .ci/first_reply.py http://127.0.0.1:8000
"""
from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from websockets.asyncio.client import connect  # noqa: E402

from bench._ws import new_game  # noqa: E402


LINES = ("Good evening!", "Busy night tonight?", "Evening, friend. How are you keeping?")


async def first_reply(url: str, timeout: float = 120.0) -> dict:
    game = await new_game(url)
    ws_url = url.replace("http://", "ws://", 1).rstrip("/") + "/ws/play/"
    async with connect(ws_url, origin=url.rstrip("/"), additional_headers={"Cookie": game.cookie}) as ws:
        state = None
        while state is None:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            state = frame if frame.get("type") == "state" else None
        npc = state["npcs"][0]["slug"]
        for n, line in enumerate(LINES, 1):
            await ws.send(json.dumps({"type": "say", "id": f"ci-{n}", "npc": npc, "text": line}))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
                if frame.get("reply_to") == f"ci-{n}" and frame.get("type") in {"npc.end", "error", "narration"}:
                    break
            if frame.get("type") == "npc.end" and frame.get("source") == "llm":
                break
            print(json.dumps(frame, ensure_ascii=False))
        return frame


def main() -> int:
    frame = asyncio.run(first_reply(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"))
    print(json.dumps(frame, ensure_ascii=False))
    if frame.get("type") == "npc.end" and frame.get("source") == "llm":
        print(f"The first reply came from the local model: {frame['text']!r}")
        return 0
    print(f"The first reply did not come from the model (source {frame.get('source')!r}): the local model is broken.",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
