"""`python -m tests.llm.crashing_server PORT`: an OpenAI-compatible server that lists the local model
and dies with SIGSEGV on every chat request, as the prebuilt llama-cpp-python 0.3.36 wheel did on
CPUs with AVX-512 FP16. The supervisor runs it as its child in the tests of giving up and of the
self-test (tests/llm/test_selftest.py)."""
from __future__ import annotations

import signal
import sys
import threading

from tests.llm.fake_openai import Crash, FakeOpenAI


def main(port: int) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with FakeOpenAI(default=Crash(), model="smollm2", port=port):
        stop.wait()


if __name__ == "__main__":
    main(int(sys.argv[1]))
