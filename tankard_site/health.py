"""Health at /ht/: the list of checks (built per request from settings) and the view that runs them.

django-health-check 4.x runs the checks and renders HTML, text or `?format=json`; any failing
check answers HTTP 500. `manage.py health_check ht --no-http` runs the same list through this view.
The process-memory check lives here because it is about the server process, not about an app
(its reading, `process_rss_bytes`, is gameplay.metrics' as the memory gauge's).
"""
from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterator
from functools import partial

import celery
from celery.app import app_or_default
from django.conf import settings
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.contrib.celery import Ping
from health_check.exceptions import ServiceReturnedUnexpectedResult, ServiceUnavailable
from health_check.views import HealthCheckView

from gameplay.metrics import process_rss_bytes

MIB = 1024 * 1024


@dataclasses.dataclass
class ProcessMemory(HealthCheck):
    """The server process's resident memory is below `max_rss_mb` (a leak shows here first)."""

    max_rss_mb: int = 1024

    def run(self) -> None:
        rss = process_rss_bytes()
        if rss is None:
            raise ServiceReturnedUnexpectedResult("resident memory unknown")
        if rss > self.max_rss_mb * MIB:
            raise ServiceUnavailable(f"resident memory {rss / MIB:.0f} MiB above {self.max_rss_mb} MiB")


@dataclasses.dataclass
class CeleryPing(Ping):
    """django-health-check's Celery `Ping`, reported without the app's address (a stable name)."""

    app: celery.Celery = dataclasses.field(default_factory=app_or_default, repr=False)


def health_checks() -> list[HealthCheck]:
    """The checks of this deployment, from the settings in force now."""
    from llm.health import LLMBackend

    checks: list[HealthCheck] = [Database(), Cache()]
    if settings.REDIS_URL:
        checks += _service_checks(settings.REDIS_URL)
    checks += [LLMBackend(), ProcessMemory(max_rss_mb=settings.TANKARD_MAX_RSS_MB)]
    return checks


def _service_checks(redis_url: str) -> list[HealthCheck]:
    """Redis, and the Celery workers when tasks go to them (not run eagerly in-process)."""
    from health_check.contrib.redis import Redis
    from redis.asyncio import Redis as RedisClient

    checks: list[HealthCheck] = [
        Redis(client_factory=partial(RedisClient.from_url, redis_url, socket_connect_timeout=1, socket_timeout=1))
    ]
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        from tankard_site.celery import app

        checks.append(CeleryPing(app=app, timeout=datetime.timedelta(seconds=1)))
    return checks


class HealthView(HealthCheckView):
    """/ht/: django-health-check's view over `health_checks()`."""

    def get_checks(self) -> Iterator[HealthCheck]:
        yield from health_checks()
