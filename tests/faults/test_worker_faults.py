"""A background worker killed mid-job: a real Celery worker (the private Redis as broker) takes a
game grant, is killed -9 while the job waits on the database, and another worker runs the job
again after the visibility timeout (acks_late, reject_on_worker_lost). The grant lands exactly
once, and a duplicate delivery of the same job changes nothing."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery

from gameplay import services
from gameplay.models import Game, Turn
from tests.faults.conftest import WriteLock, sqlite_path

ROOT = Path(__file__).resolve().parents[2]
GRANT = "gameplay.tasks.grant"
VISIBILITY_TIMEOUT = 2
pytestmark = [pytest.mark.django_db(transaction=True)]


class Worker:
    """`celery worker` in its own process group, logging to a file the test reads."""

    def __init__(self, broker: str, log: Path) -> None:
        self.log = log
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tankard_site.settings", "REDIS_URL": broker,
               "CELERY_TASK_ALWAYS_EAGER": "false", "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
               "TANKARD_SQLITE_PATH": sqlite_path()}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tankard_site", "worker", "--pool=solo", "--loglevel=INFO",
             "--without-mingle", "--without-gossip", "--without-heartbeat", "-n", f"{log.stem}@%h"],
            cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        )

    def saw(self, text: str) -> bool:
        return text in self.log.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.saw(text):
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"worker never logged {text!r}:\n" + self.log.read_text()[-3000:]
            time.sleep(0.1)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


def wait_until(condition, timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_worker_killed_mid_job__job_runs_again_and_applies_once(world, private_redis, tmp_path):
    game = services.game_create(session_key="worker")
    broker = Celery(broker=private_redis.url, set_as_current=False)  # never the app shared tasks resolve to
    args = {"game_id": str(game.id), "key": "outage-1", "text": "A courier brings five gold: the house's apology.", "gold": 5}
    workers = []
    try:
        lock = WriteLock(sqlite_path())  # the job will wait on the database: mid-job, not yet applied
        first = Worker(private_redis.url, tmp_path / "first.log")
        workers.append(first)
        first.wait_for("ready.")
        sent = broker.send_task(GRANT, kwargs=args)
        first.wait_for(f"{GRANT}[{sent.id}] received")
        taken = time.monotonic()
        time.sleep(0.5)
        first.kill()
        lock.release()
        assert Game.objects.get(pk=game.id).version == 0, "the killed job applied nothing"

        # A starting worker sweeps the jobs unacknowledged for longer than the visibility timeout
        # (2 s here); later sweeps come about every 100 s (kombu: interval 10 s, every 10th call).
        time.sleep(max(0.0, taken + VISIBILITY_TIMEOUT + 0.5 - time.monotonic()))
        second = Worker(private_redis.url, tmp_path / "second.log")
        workers.append(second)
        second.wait_for(f"{GRANT}[{sent.id}] succeeded", timeout=60)  # the same job, redelivered
        again = broker.send_task(GRANT, kwargs=args)  # delivered twice, as after a death between commit and ack
        second.wait_for(f"{GRANT}[{again.id}] succeeded")
    finally:
        for worker in workers:
            worker.kill()
        broker.close()

    game.refresh_from_db()
    assert game.state["gold"] == 20 + 5 and game.version == 1
    assert Turn.objects.filter(game=game, client_id="grant:outage-1").count() == 1
    assert re.search(rf"{re.escape(GRANT)}\[{again.id}\] succeeded in [0-9.]+s: False", (tmp_path / "second.log").read_text())


def test_grant_task__running_twice_applies_once(world):
    from gameplay.tasks import grant

    game = services.game_create(session_key="twice")
    assert grant(str(game.id), "k1", "A gift.", gold=3, item="candle") is True
    assert grant(str(game.id), "k1", "A gift.", gold=3, item="candle") is False
    state = services.game_state_frame(game_id=str(game.id))
    assert state["player"]["gold"] == 23 and state["inventory"] == [{"slug": "candle", "name": "tallow candle", "qty": 1}]
    assert Turn.objects.filter(game=game).count() == 1
