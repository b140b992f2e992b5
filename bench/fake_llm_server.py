"""Serve the scripted OpenAI-compatible test server (tests/llm/fake_openai.py) on a fixed port, for
benchmarks: every chat completion streams the same NPC-sized reply at a given token rate (or, with
--varied, the next of a few different ones).

Run from the project root:

    .venv/bin/python bench/fake_llm_server.py --port 18799 --tokens-per-second 20
    OPENAI_BASE_URL=http://127.0.0.1:18799/v1 OPENAI_API_KEY=bench .venv/bin/python manage.py run --no-local-model

It listens on loopback only, prints its base URL, and stops on Ctrl-C, SIGTERM or after --seconds.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.llm.fake_openai import FakeOpenAI, Reply, _Handler  # noqa: E402

# 32 tokens: a typical NPC answer (two sentences, with no name or price the reply checks would stop),
# under two seconds at 20 tokens a second.
REPLY = (
    "Aye, the cellar's been quiet since the rats moved on, though some swear they heard scratching "
    "behind the casks last night. Have another ale and I'll tell you what I know, traveller."
)

# For --varied: NPC-sized answers that differ from one reply to the next (an NPC repeating itself, or
# naming someone the world does not know, is refused by the reply checks before it is shown).
VARIED = (
    "Aye, the cellar has been quiet since the rats moved on, though the cook swears she heard something "
    "scratching behind the casks last night. Sit a while and I will tell you what I know, traveller.",
    "The north road is muddy this time of year, and the carters curse every rut of it. If you are heading "
    "that way, leave early and keep your purse close, friend.",
    "Folk come and go through that door all night, and most of them want a warm seat more than a story. "
    "Still, I hear a thing or two, if you have the patience for it.",
    "The harvest was thin this year, so tempers are short and the dice are loud in the back room. Keep your "
    "head down and nobody will trouble you here.",
    "I have kept this bar longer than I care to count, and the roof still leaks by the hearth whenever the "
    "wind turns. Some things never mend, and some folk never learn.",
    "There is talk of strangers on the river crossing, but talk is cheap in a tavern. Ask me again when the "
    "fire is low and the room is quiet, and I may say more.",
)


class Varied:
    """Each chat completion streams the next of VARIED."""

    def __init__(self, **reply) -> None:
        self.reply, self.count, self.lock = reply, 0, threading.Lock()

    def __call__(self, body: dict) -> Reply:
        with self.lock:
            self.count += 1
            text = VARIED[self.count % len(VARIED)]
        return Reply(text, **self.reply)


class FixedPortFakeOpenAI(FakeOpenAI):
    """The test fake, bound to a chosen loopback port instead of a free one."""

    def __init__(self, *, port: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.fixed_port = port

    def start(self) -> FixedPortFakeOpenAI:
        self.stopping.clear()
        server = ThreadingHTTPServer(("127.0.0.1", self.fixed_port), _Handler)
        server.daemon_threads = True
        server.block_on_close = False
        server.request_queue_size = 256
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def record(self, request) -> None:
        """Count requests without keeping their bodies: a long benchmark must not grow memory."""
        with self._received:
            self.served = getattr(self, "served", 0) + 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18799)
    parser.add_argument("--tokens-per-second", type=float, default=20.0)
    parser.add_argument("--first-token-delay", type=float, default=0.2, help="seconds before the first token")
    parser.add_argument("--text", default=REPLY, help="the reply every chat completion streams")
    parser.add_argument("--varied", action="store_true", help="stream a different answer each time instead of --text")
    parser.add_argument("--seconds", type=float, default=6 * 3600, help="stop by itself after this long")
    args = parser.parse_args(argv)

    timing = {"tokens_per_second": args.tokens_per_second or None, "first_token_delay": args.first_token_delay}
    reply = Reply(args.text, **timing)
    fake = FixedPortFakeOpenAI(port=args.port, default=Varied(**timing) if args.varied else reply)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with fake:
        size = "varied replies" if args.varied else f"{len(reply.pieces())} tokens a reply"
        print(f"fake LLM at {fake.base_url} ({size}, {args.tokens_per_second:g} tokens/s)", flush=True)
        try:
            done.wait(args.seconds)
        except KeyboardInterrupt:
            pass
        print(f"served {getattr(fake, 'served', 0)} requests", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
