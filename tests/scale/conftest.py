"""Fixtures for the scale-out tests: a fresh Postgres database and a Redis database of the machine's
services, skipped when they do not answer, unless CI=true."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SCALE_REDIS_URL = "redis://127.0.0.1:6379/10"


def unavailable(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (CI must have it).")
    pytest.skip(what)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A new, empty Postgres database for this module, dropped afterwards."""
    import psycopg

    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=2)
    except psycopg.OperationalError:
        unavailable(f"PostgreSQL does not answer at {POSTGRES_ADMIN_URL}.")
    name = f"tankard_scale_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """Redis database 10, flushed before and after."""
    import redis

    client = redis.Redis.from_url(SCALE_REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        unavailable(f"Redis does not answer at {SCALE_REDIS_URL}.")
    client.flushdb()
    yield SCALE_REDIS_URL
    client.flushdb()
    client.close()
