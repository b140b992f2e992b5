"""/metrics and the metric helpers of llm/metrics.py and gameplay/metrics.py."""
from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from gameplay.metrics import (
    active_games,
    connection_closed,
    connection_opened,
    job_observed,
    turn_observed,
)
from llm.metrics import (
    cache_lookup_observed,
    llm_call_observed,
    llm_error_observed,
    reply_flag_observed,
    reply_observed,
)

pytestmark = pytest.mark.django_db


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics__anonymous_is_refused(client):
    assert client.get("/metrics").status_code == 403


def test_metrics__a_player_who_is_not_staff_is_refused(player_client):
    assert player_client.get("/metrics").status_code == 403


def test_metrics__staff_read_our_metrics(staff_client):
    reply_observed(npc="gareth", source="llm", ttft_s=0.4, total_s=1.2, tokens_in=300, tokens_out=40)

    response = staff_client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for name in (
        'tankard_replies_total{npc="gareth",source="llm"}',
        'tankard_reply_ttft_seconds_bucket{le="0.5",source="llm"}',
        "tankard_reply_seconds_count",
        'tankard_llm_tokens_in_total{npc="gareth"}',
        "tankard_llm_queue_depth",
        "tankard_llm_in_flight",
        "tankard_games_active",
        "tankard_connections_open",
        "tankard_process_resident_memory_bytes",
    ):
        assert name in text, name


def test_metrics__bearer_token_opens_it_when_configured(client, settings):
    settings.TANKARD_METRICS_TOKEN = "scrape-me"

    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="bearer scrape-me").status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic scrape-me").status_code == 403


def test_metrics__empty_token_turns_bearer_access_off(client, settings):
    settings.TANKARD_METRICS_TOKEN = ""

    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer").status_code == 403


def test_reply_observed__counts_reply_latency_and_tokens():
    before = {
        "replies": value("tankard_replies_total", npc="mira", source="cache"),
        "ttft": value("tankard_reply_ttft_seconds_count", source="cache"),
        "total": value("tankard_reply_seconds_count", source="cache"),
        "in": value("tankard_llm_tokens_in_total", npc="mira"),
        "out": value("tankard_llm_tokens_out_total", npc="mira"),
    }

    reply_observed(npc="mira", source="cache", ttft_s=None, total_s=0.05, tokens_in=0, tokens_out=0)
    reply_observed(npc="mira", source="cache", ttft_s=0.01, total_s=0.02, tokens_in=10, tokens_out=5)

    assert value("tankard_replies_total", npc="mira", source="cache") == before["replies"] + 2
    assert value("tankard_reply_ttft_seconds_count", source="cache") == before["ttft"] + 1
    assert value("tankard_reply_seconds_count", source="cache") == before["total"] + 2
    assert value("tankard_llm_tokens_in_total", npc="mira") == before["in"] + 10
    assert value("tankard_llm_tokens_out_total", npc="mira") == before["out"] + 5


def test_reply_observed__unknown_source_is_counted_as_other():
    before = value("tankard_replies_total", npc="mira", source="other")

    reply_observed(npc="mira", source="telepathy", ttft_s=0.1, total_s=0.2)

    assert value("tankard_replies_total", npc="mira", source="other") == before + 1
    assert REGISTRY.get_sample_value("tankard_replies_total", {"npc": "mira", "source": "telepathy"}) is None


def test_cache_lookup_observed__hits_by_level_and_misses():
    hits, misses = value("tankard_reply_cache_hits_total", level="redis"), value("tankard_reply_cache_misses_total")

    cache_lookup_observed(level="redis")
    cache_lookup_observed(level=None)
    cache_lookup_observed(level=None)

    assert value("tankard_reply_cache_hits_total", level="redis") == hits + 1
    assert value("tankard_reply_cache_misses_total") == misses + 2


def test_llm_calls_errors_and_flags_are_counted():
    calls = value("tankard_llm_calls_total", outcome="error")
    errors = value("tankard_llm_errors_total", kind="timeout")
    flagged = value("tankard_replies_flagged_total", npc="gareth")

    llm_call_observed(outcome="error")
    llm_error_observed(kind="timeout")
    reply_flag_observed(npc="gareth")

    assert value("tankard_llm_calls_total", outcome="error") == calls + 1
    assert value("tankard_llm_errors_total", kind="timeout") == errors + 1
    assert value("tankard_replies_flagged_total", npc="gareth") == flagged + 1


def test_turns_jobs_and_connections_are_counted():
    turns = value("tankard_turns_total", kind="say", outcome="npc_absent")
    runs, failures = value("tankard_job_runs_total", job="npc-pregen"), value("tankard_job_failures_total", job="npc-pregen")
    connections = value("tankard_connections_open")

    turn_observed(kind="say", outcome="npc_absent")
    job_observed(name="npc-pregen", ok=True)
    job_observed(name="npc-pregen", ok=False)
    connection_opened()
    connection_opened()
    connection_closed()

    assert value("tankard_turns_total", kind="say", outcome="npc_absent") == turns + 1
    assert value("tankard_job_runs_total", job="npc-pregen") == runs + 2
    assert value("tankard_job_failures_total", job="npc-pregen") == failures + 1
    assert value("tankard_connections_open") == connections + 1
    connection_closed()


def test_games_active__counts_games_with_a_recent_turn(player):
    active_games.forget()
    assert value("tankard_games_active") == 0

    player.do("look")
    assert value("tankard_games_active") == 0, "cached for a few seconds: scrapes cost no query each"

    active_games.forget()
    assert value("tankard_games_active") == 1


def test_process_memory_gauge_reads_resident_memory():
    assert value("tankard_process_resident_memory_bytes") > 1024 * 1024
