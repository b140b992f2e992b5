"""The server processes benchmarks start and stop: the scripted fake LLM server in a process of its
own, a throwaway embedded game server (`manage.py run` on a fresh SQLite file), and the production
set (a fresh PostgreSQL database, a Redis database, two daphne processes, a Celery worker and beat).
Each runs in its own process group, stopped with everything it started; loopback only; every wait
is bounded."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVER_START_TIMEOUT = 60.0
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_REDIS_URL = "redis://127.0.0.1:6379/12"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def group_stop(process: subprocess.Popen | None) -> None:
    """SIGTERM to the process's group, SIGKILL if it has not gone within 10 s."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of a process so far, from /proc (None when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError, TypeError):
        return None


def settled(pids: list[int], *, busy_share: float = 0.2, timeout: float = 60.0) -> None:
    """Until each process uses under `busy_share` of a core over a second (its start-up warm-up in
    the background is over), or `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = [cpu_seconds(pid) or 0.0 for pid in pids]
        time.sleep(1.0)
        if all((cpu_seconds(pid) or 0.0) - was < busy_share for pid, was in zip(pids, before)):
            return


def port_opens(port: int, process: subprocess.Popen, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not open port {port}:\n{_tail(log)}")


def _tail(log: Path | None, chars: int = 4000) -> str:
    try:
        return log.read_text(errors="replace")[-chars:] if log else ""
    except OSError:
        return ""


class FakeLLMProcess:
    """bench/fake_llm_server.py (the test fake on a fixed port) in a process of its own, so that its
    streaming threads do not share a GIL with the clients that time the game."""

    def __init__(self, text: str | None = None, tokens_per_second: float = 20.0, first_token_delay: float = 0.2,
                 *, varied: bool = False) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.command = [sys.executable, str(ROOT / "bench" / "fake_llm_server.py"), "--port", str(self.port),
                        "--tokens-per-second", str(tokens_per_second), "--first-token-delay", str(first_token_delay),
                        "--seconds", "3600", *(("--text", text) if text else ()), *(("--varied",) if varied else ())]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> FakeLLMProcess:
        self.process = subprocess.Popen(self.command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            port_opens(self.port, self.process, "the fake LLM server")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        process, self.process = self.process, None
        group_stop(process)


class GameServer:
    """`manage.py migrate` then `manage.py run --no-local-model` on a fresh SQLite file in a temp dir,
    in its own process group (stopped, with anything it started, by `stop()` or on leaving the
    `with`, which also removes the temp dir unless the run failed). With `local_model_port`, the
    game runs its own local model server as `./tankard play` does (no OPENAI_BASE_URL), on that port."""

    def __init__(self, *, llm_base_url: str, model: str, env: dict[str, str] | None = None,
                 local_model_port: int | None = None) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="tankard-bench-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.workdir / "server.log"
        self.env = dict(os.environ, TANKARD_SQLITE_PATH=str(self.workdir / "game.sqlite3"), OPENAI_BASE_URL=llm_base_url,
                        OPENAI_API_KEY="bench", TANKARD_LLM_MODEL=model, PYTHONUNBUFFERED="1", **(env or {}))
        for production_part in ("DATABASE_URL", "REDIS_URL"):
            self.env.pop(production_part, None)
        self.local_model_port = local_model_port
        if local_model_port is not None:
            for remote in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "TANKARD_LLM_MODEL"):
                self.env.pop(remote, None)
            self.env["TANKARD_LOCAL_LLM_PORT"] = str(local_model_port)
        self.process: subprocess.Popen | None = None

    @property
    def sqlite_path(self) -> str:
        return self.env["TANKARD_SQLITE_PATH"]

    def start(self) -> GameServer:
        done = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=300)
        if done.returncode:
            raise RuntimeError(f"migrate failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        local = () if self.local_model_port is not None else ("--no-local-model",)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "run", "--host", "127.0.0.1", "--port", str(self.port), *local],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        port_opens(self.port, self.process, "the game server", self.log_path)
        return self

    def stop(self) -> None:
        process, self.process = self.process, None
        group_stop(process)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def log_tail(self, chars: int = 4000) -> str:
        return _tail(self.log_path, chars)

    def __enter__(self) -> GameServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, exc_type, *exc: object) -> None:
        self.stop()
        if exc_type is None or exc_type is KeyboardInterrupt:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            print(f"the game server's files are kept in {self.workdir}", file=sys.stderr)


def servers_start(mode: str, stack) -> tuple[list[str], list[int]]:
    """The fake LLM (a 32-token reply at 20 tokens a second after 0.2 s) and the servers of `mode` ("embedded" or
    "production"), stopped when the ExitStack `stack` closes, settled after their warm-up: (urls, pids)."""
    fake = stack.enter_context(FakeLLMProcess(tokens_per_second=20, first_token_delay=0.2))
    if mode == "embedded":
        server = stack.enter_context(GameServer(llm_base_url=fake.base_url, model="fake-model",
                                                env={"TANKARD_NEW_GAMES_PER_HOUR": "100000"}))
        urls, pids = [server.url], [server.pid]
    else:
        servers = stack.enter_context(ProductionServers(llm_base_url=fake.base_url))
        urls, pids = servers.urls, servers.pids
    settled(pids)  # the start-up warm-up (embedding model, tokenizer) is over: RSS before the first game
    print(f"{mode} servers at {', '.join(urls)} (pids {', '.join(map(str, pids))}); fake LLM at {fake.base_url}", flush=True)
    return urls, pids


def production_unavailable() -> str | None:
    """Why the production set cannot run here (PostgreSQL or Redis not answering), or None."""
    import psycopg
    import redis

    try:
        psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=2).close()
    except psycopg.OperationalError:
        return f"PostgreSQL does not answer at {POSTGRES_ADMIN_URL}"
    client = redis.Redis.from_url(BENCH_REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        return f"Redis does not answer at {BENCH_REDIS_URL}"
    finally:
        client.close()
    return None


class ProductionServers:
    """The production mode on this machine: a fresh PostgreSQL database (dropped afterwards), Redis
    database 12 (flushed before and after), migrate, then `daphnes` daphne processes, a Celery worker
    and beat, as README.md runs them, with `llm_base_url` as the model. `urls` and `pids` are the
    daphne processes'."""

    def __init__(self, *, llm_base_url: str, daphnes: int = 2) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="tankard-bench-prod-"))
        self.database = f"tankard_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.ports = [free_port() for _ in range(daphnes)]
        self.urls = [f"http://127.0.0.1:{port}" for port in self.ports]
        self.env = {**os.environ, "DATABASE_URL": POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.database}",
                    "REDIS_URL": BENCH_REDIS_URL, "OPENAI_BASE_URL": llm_base_url, "OPENAI_API_KEY": "bench",
                    "TANKARD_LLM_MODEL": "fake-model", "DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "bench-" + uuid.uuid4().hex,
                    "DJANGO_SECURE_SSL_REDIRECT": "false", "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                    "TANKARD_NEW_GAMES_PER_HOUR": "100000",  # every game comes from 127.0.0.1: over the default of 30
                    "CELERY_TASK_ALWAYS_EAGER": "false", "PYTHONUNBUFFERED": "1"}
        self.env.pop("TANKARD_SQLITE_PATH", None)
        self.processes: list[tuple[str, subprocess.Popen]] = []

    @property
    def pids(self) -> list[int]:
        return [p.pid for name, p in self.processes if name.startswith("daphne")]

    def __enter__(self) -> ProductionServers:
        try:
            self._database("CREATE")
            self._redis_flush()
            done = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=self.env,
                                  capture_output=True, text=True, timeout=300)
            if done.returncode:
                raise RuntimeError(f"migrate failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
            for port in self.ports:
                self._start(f"daphne-{port}", [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port),
                                               "tankard_site.asgi:application"])
            self._start("celery-worker", [str(BIN / "celery"), "-A", "tankard_site", "worker", "-l", "warning", "-c", "1"])
            self._start("celery-beat", [str(BIN / "celery"), "-A", "tankard_site", "beat", "-l", "warning",
                                        "-s", str(self.workdir / "celerybeat-schedule")])
            for port, url in zip(self.ports, self.urls):
                self._answers(url + "/", f"daphne-{port}")
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self, name: str, command: list[str]) -> None:
        with (self.workdir / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        self.processes.append((name, process))

    def _answers(self, url: str, name: str) -> None:
        """Until GET / answers 200 (the process has warmed up and serves games)."""
        process = dict(self.processes)[name]
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{_tail(self.workdir / f'{name}.log')}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{name} does not answer at {url}:\n{_tail(self.workdir / f'{name}.log')}")

    def _errors_told(self, tail: int = 10) -> None:
        """Each server's logged errors, counted, and the end of its last traceback (where the
        exception is named), on stderr, before the logs go with the temp dir."""
        for log in sorted(self.workdir.glob("*.log")):
            text = _tail(log, 2_000_000).splitlines()
            starts = [i for i, line in enumerate(text) if line.startswith("Traceback")]
            errors = sum(" ERROR " in line for line in text)
            if not starts and not errors:
                continue
            block = text[starts[-1]:] if starts else []
            end = next((i for i, line in enumerate(block[1:], 1) if line and not line[0].isspace()), len(block) - 1)
            print(f"{log.name}: {errors} errors logged, {len(starts)} tracebacks; the last ends:",
                  *block[max(0, end + 1 - tail):end + 1], sep="\n", file=sys.stderr)

    def _database(self, verb: str) -> None:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=2) as admin:
            admin.execute(f'CREATE DATABASE "{self.database}"' if verb == "CREATE"
                          else f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def _redis_flush(self) -> None:
        import redis

        client = redis.Redis.from_url(BENCH_REDIS_URL, socket_connect_timeout=1)
        try:
            client.flushdb()
        finally:
            client.close()

    def __exit__(self, *exc: object) -> None:
        for _, process in reversed(self.processes):
            group_stop(process)
        self.processes = []
        self._errors_told()
        try:
            self._database("DROP")
            self._redis_flush()
        except Exception as error:  # the servers are stopped; say what was left behind
            print(f"cleaning up the production set: {error}", file=sys.stderr)
        shutil.rmtree(self.workdir, ignore_errors=True)
