"""/ht/ and `manage.py health_check`: the checks of tankard_site/health.py and llm/health.py."""
from __future__ import annotations

import asyncio
import datetime
import io

import pytest
from django.core.management import call_command

from llm.breaker import breaker_for
from tankard_site.health import CeleryPing, health_checks

EMBEDDED_CHECKS = {
    "Database(alias='default')",
    "Cache(alias='default')",
    "LLMBackend()",
    "ProcessMemory(max_rss_mb=1024)",
}

pytestmark = pytest.mark.django_db


def test_ht__healthy_answers_200_with_every_check(client, llm_backend):
    response = client.get("/ht/?format=json")

    assert response.status_code == 200
    assert response.json() == {name: "OK" for name in EMBEDDED_CHECKS}


def test_ht__asks_the_backend_for_its_models(client, llm_backend):
    client.get("/ht/?format=json")

    probes = [r for r in llm_backend.requests if r.method == "GET"]
    assert probes and probes[-1].path == "/v1/models"
    assert probes[-1].headers.get("Authorization") == "Bearer test-key"


def test_ht__unreachable_backend_answers_500(client, llm_backend, closed_port_url, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", closed_port_url)

    response = client.get("/ht/?format=json")

    assert response.status_code == 500
    body = response.json()
    assert body["LLMBackend()"].startswith("Unavailable: model backend unreachable")
    assert closed_port_url not in body["LLMBackend()"], "/ht/ is public: no addresses"
    assert body["Database(alias='default')"] == "OK"


def test_ht__open_breaker_fails_although_the_backend_answers(client, llm_backend):
    breaker = breaker_for(llm_backend.base_url)
    for _ in range(breaker.failure_threshold):
        breaker.record_failure()

    response = client.get("/ht/?format=json")

    assert response.status_code == 500
    assert "circuit breaker open" in response.json()["LLMBackend()"]


def test_ht__configured_model_not_served_fails(client, llm_backend, settings):
    settings.TANKARD_LLM_MODEL = "some-other-model"

    response = client.get("/ht/?format=json")

    assert response.status_code == 500
    assert "'some-other-model' is not loaded" in response.json()["LLMBackend()"]


def test_ht__memory_above_the_limit_fails(client, llm_backend, settings):
    settings.TANKARD_MAX_RSS_MB = 1  # any Python process is bigger than one MiB

    response = client.get("/ht/?format=json")

    assert response.status_code == 500
    assert "above 1 MiB" in response.json()["ProcessMemory(max_rss_mb=1)"]


def test_ht__html_by_default(client, llm_backend):
    response = client.get("/ht/", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_health_checks__redis_and_celery_only_when_redis_is_configured(settings):
    names = lambda: [type(check).__name__ for check in health_checks()]  # noqa: E731
    settings.REDIS_URL = ""
    assert names() == ["Database", "Cache", "LLMBackend", "ProcessMemory"]

    settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert names() == ["Database", "Cache", "Redis", "LLMBackend", "ProcessMemory"]

    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert names() == ["Database", "Cache", "Redis", "CeleryPing", "LLMBackend", "ProcessMemory"]


def test_health_check_command__runs_the_same_checks(llm_backend):
    out = io.StringIO()

    with pytest.raises(SystemExit) as exited:
        call_command("health_check", "ht", "--no-http", stdout=out)

    assert exited.value.code == 0
    lines = out.getvalue().splitlines()
    assert sorted(lines) == sorted(f"{name}: OK" for name in EMBEDDED_CHECKS)


def test_health_check_command__exits_1_when_a_check_fails(llm_backend, closed_port_url, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", closed_port_url)
    out = io.StringIO()

    with pytest.raises(SystemExit) as exited:
        call_command("health_check", "ht", "--no-http", stdout=out)

    assert exited.value.code == 1
    assert "LLMBackend(): Unavailable" in out.getvalue()


# --- Redis and Celery, against the machine's Redis ---------------------------------------------------

@pytest.mark.services
def test_ht__checks_real_redis_when_configured(client, llm_backend, real_redis, settings):
    settings.REDIS_URL = real_redis
    settings.CELERY_TASK_ALWAYS_EAGER = True

    response = client.get("/ht/?format=json")

    assert response.status_code == 200, response.content
    assert response.json()["Redis(db=15, host='127.0.0.1', port=6379)"] == "OK"


@pytest.mark.services
def test_ht__redis_down_fails(client, llm_backend, closed_port_url, settings):
    settings.REDIS_URL = closed_port_url.replace("http://", "redis://").replace("/v1", "/15")
    settings.CELERY_TASK_ALWAYS_EAGER = True

    response = client.get("/ht/?format=json")

    assert response.status_code == 500
    redis_result = next(v for k, v in response.json().items() if k.startswith("Redis("))
    assert redis_result.startswith("Unavailable: Unable to connect to Redis")


def _celery_app(broker_url: str):
    from celery import Celery

    app = Celery("tankard_health_test", broker=broker_url, set_as_current=False)
    app.conf.worker_hijack_root_logger = False
    return app


def _ping_error(app) -> str | None:
    check = CeleryPing(app=app, timeout=datetime.timedelta(seconds=1))
    result = asyncio.run(check.get_result())
    return str(result.error) if result.error else None


@pytest.mark.services
def test_celery_ping__a_running_worker_answers(real_redis):
    from celery.contrib.testing.worker import start_worker

    app = _celery_app(real_redis)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert _ping_error(app) is None


@pytest.mark.services
def test_celery_ping__no_worker_fails(real_redis):
    assert _ping_error(_celery_app(real_redis)) == "Unavailable: Celery workers unavailable"


@pytest.mark.services
def test_ht__celery_workers_missing_answers_500(client, llm_backend, real_redis, settings):
    settings.REDIS_URL = real_redis
    settings.CELERY_TASK_ALWAYS_EAGER = False

    response = client.get("/ht/?format=json")

    assert response.status_code == 500
    body = response.json()
    assert body["CeleryPing()"] == "Unavailable: Celery workers unavailable"
    assert body["Redis(db=15, host='127.0.0.1', port=6379)"] == "OK"
