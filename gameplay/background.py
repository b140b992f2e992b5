"""The embedded mode's background worker: runs the Celery beat schedule's tasks in a daemon thread
of the game process, so no broker, worker or beat process is needed. Production runs Celery worker
and beat instead, with the same schedule (settings.CELERY_BEAT_SCHEDULE)."""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from django.db import close_old_connections

from .metrics import job_observed

logger = logging.getLogger(__name__)
_started = threading.Event()


def _seconds(schedule) -> float:
    if isinstance(schedule, (int, float)):
        return float(schedule)
    if isinstance(schedule, timedelta):
        return schedule.total_seconds()
    return float(getattr(schedule, "run_every", timedelta(minutes=5)).total_seconds())


def _loop() -> None:
    from django.conf import settings

    from tankard_site.celery import app

    entries = [(name, entry["task"], _seconds(entry["schedule"])) for name, entry in settings.CELERY_BEAT_SCHEDULE.items()]
    last = {name: time.monotonic() for name, _, _ in entries}
    while True:
        for name, task_name, every in entries:
            if time.monotonic() - last[name] < every:
                continue
            last[name] = time.monotonic()
            try:
                result = app.tasks[task_name].apply()
                job_observed(name=name, ok=result.successful())
            except Exception:
                job_observed(name=name, ok=False)
                logger.exception("background job %s failed", name)
            finally:
                close_old_connections()
        time.sleep(1.0)


def background_start() -> None:
    """Start the embedded background worker once per process."""
    if _started.is_set():
        return
    _started.set()
    threading.Thread(target=_loop, name="tankard-background", daemon=True).start()
