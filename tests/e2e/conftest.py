"""Fixtures for the browser tests: the scripted fake LLM, a live game server and headless Chromium.

The game runs as a real `manage.py run` subprocess on a fresh SQLite file, talking to the fake
OpenAI-compatible server started in this process. Each test gets a fresh browser context (so a fresh
session cookie, so a fresh game). Debian's Chromium is used as installed: nothing downloads a browser.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

from tests.llm.fake_openai import Behaviour, FakeOpenAI, Reply

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SERVER_START_TIMEOUT = 40.0


def _unavailable(reason: str) -> None:
    """Skip on a developer's machine without a browser; in CI a missing browser is a failure."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the fake model ---------------------------------------------------------------------------------
@dataclass
class ModelScript:
    """Chooses the fake model's behaviour by what the player said, not by request order: the game may
    make other model calls (summaries, pre-generation) that must not eat a test's scripted reply."""

    routes: list[tuple[str, Behaviour]] = field(default_factory=list)
    default: Behaviour = Reply("Aye, that's the way of it.", tokens_per_second=40)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def when_player_says(self, words: str, behaviour: Behaviour) -> None:
        with self.lock:
            self.routes.append((words.lower(), behaviour))

    def __call__(self, body: dict) -> Behaviour:
        messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
        last_user = next((str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), "")
        everything = " ".join(str(m.get("content", "")) for m in messages)
        with self.lock:
            routes = list(reversed(self.routes))
        for said in (last_user.lower(), everything.lower()):
            for words, behaviour in routes:
                if words in said:
                    return behaviour
        return self.default


@pytest.fixture(scope="session")
def fake_model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(default=ModelScript()) as fake:
        yield fake


@pytest.fixture
def model_script(fake_model: FakeOpenAI) -> ModelScript:
    return fake_model.default  # type: ignore[return-value]


# --- the live game server -----------------------------------------------------------------------------
class LiveServer:
    """`manage.py run` in a subprocess; stop() and start() again keep the port and the database."""

    def __init__(self, workdir: Path, llm_base_url: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "server.log"
        self.env = dict(
            os.environ,
            TANKARD_SQLITE_PATH=str(workdir / "game.sqlite3"),
            OPENAI_BASE_URL=llm_base_url,
            OPENAI_API_KEY="e2e-test-key",
            TANKARD_LLM_MODEL="fake-model",
            DJANGO_DEBUG="true",
            PYTHONUNBUFFERED="1",
            # The scripted model answers by the player's words; the reply cache would ask it a
            # canonical question instead (tests/cache covers the cache end to end).
            TANKARD_REPLY_CACHE="false",
            TANKARD_NEW_GAMES_PER_HOUR="100000",  # every test is a new player from 127.0.0.1
        )
        self.env.pop("DATABASE_URL", None)
        self.env.pop("REDIS_URL", None)
        self.process: subprocess.Popen | None = None

    def migrate(self) -> None:
        done = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"migrate failed:\n{done.stdout}\n{done.stderr}"

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "run", "--host", "127.0.0.1", "--port", str(self.port), "--no-local-model"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the game server exited with {self.process.returncode}:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the game server did not open port {self.port}:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""


@pytest.fixture(scope="session")
def browser_tools():
    """Playwright and the system Chromium, or a skip (a failure under CI=true) saying what is missing."""
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    return sync_playwright


@pytest.fixture(scope="session")
def game_server(browser_tools, fake_model: FakeOpenAI, tmp_path_factory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("e2e-server")
    server = LiveServer(workdir, fake_model.base_url)
    server.migrate()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        if os.environ.get("TANKARD_E2E_KEEP_LOG"):
            shutil.copy(server.log_path, ROOT / "var" / "e2e-server.log")


@pytest.fixture(scope="module")
def browser(browser_tools):
    """Module-scoped: Playwright's sync API keeps an event loop running in this thread while open,
    which async tests in later modules cannot share, so it is closed when the browser tests end."""
    with browser_tools() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        except Exception as exc:  # a broken browser install is "missing" too
            _unavailable(f"Chromium would not start: {exc}")
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, game_server):
    """Opens pages in fresh browser contexts (a new player each) at a given viewport; closes them after."""
    contexts = []

    def open_page(width: int = 1280, height: int = 900, *, go: bool = True):
        context = browser.new_context(viewport={"width": width, "height": height}, base_url=game_server.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.add_init_script(path=str(Path(__file__).with_name("speech_recorder.js")))
        if go:
            page.goto("/")
            page.wait_for_function("() => window.tankard && window.tankard.connected && !!window.tankard.state")
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture(autouse=True)
def _server_log_on_failure(request, game_server):
    """When a browser test fails, show the end of the server's log with it."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        sys.stderr.write(f"\n--- game server log (tail) ---\n{game_server.log()}\n")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report
