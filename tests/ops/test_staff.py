"""The staff dashboard (gameplay/staff.py) and its numbers (gameplay/stats.py)."""
from __future__ import annotations

import math
import re

import pytest
from django.contrib.staticfiles import finders

from gameplay.stats import histogram_quantile
from llm.metrics import cache_lookup_observed, reply_flag_observed, reply_observed

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/staff/", "/staff/stats.json"])
def test_staff_pages__anonymous_go_to_the_admin_login(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("path", ["/staff/", "/staff/stats.json"])
def test_staff_pages__players_who_are_not_staff_are_sent_away(player_client, path):
    assert player_client.get(path).status_code == 302


def test_dashboard__loads_its_scripts_from_our_own_static_files(staff_client):
    response = staff_client.get("/staff/")

    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all('src="/static/' in tag for tag in scripts), "no inline or remote scripts (CSP 'self')"
    assert "<style" not in html and " style=" not in html
    assert 'href="/staff/prompts/"' in html
    assert 'data-stats-url="/staff/stats.json"' in html


def test_dashboard__vendored_chart_library_is_shipped():
    for name in ("vendor/uplot/uPlot.iife.min.js", "vendor/uplot/uPlot.min.css", "vendor/uplot/LICENSE",
                 "staff/dashboard.js", "staff/dashboard.css"):
        assert finders.find(name), name


def test_stats_json__shape(staff_client):
    reply_observed(npc="old-tom", source="llm", ttft_s=0.3, total_s=1.0, tokens_in=200, tokens_out=30)
    reply_observed(npc="old-tom", source="fallback", ttft_s=None, total_s=0.01)
    reply_observed(npc="old-tom", source="cache", ttft_s=0.01, total_s=0.02)
    reply_flag_observed(npc="old-tom")
    cache_lookup_observed(level="memory")

    response = staff_client.get("/staff/stats.json")

    assert response.status_code == 200
    stats = response.json()
    assert set(stats) >= {"at", "latency", "sources", "cache", "errors", "llm", "games", "turns", "memory_bytes", "npcs"}
    for key in ("ttft", "reply"):
        histogram = stats["latency"][key]
        assert len(histogram["counts"]) == len(histogram["bounds"]) + 1
        assert histogram["p50"] is not None and histogram["p95"] >= histogram["p50"]
    assert set(stats["sources"]) >= {"llm", "cache", "pregen", "fallback"}
    assert set(stats["cache"]["hits"]) >= {"memory", "redis", "db"} and stats["cache"]["hit_rate"] > 0
    assert set(stats["games"]) == {"active", "connections"}
    assert set(stats["llm"]) >= {"calls", "queue_depth", "in_flight", "tokens_in", "tokens_out"}
    row = next(r for r in stats["npcs"] if r["npc"] == "old-tom")
    assert row["replies"] >= 3 and row["tokens_in"] >= 200 and row["flagged"] >= 1
    assert 0 < row["hit_rate"] < 1 and 0 < row["fallback_rate"] < 1


def test_histogram_quantile__interpolates_inside_the_bucket():
    bounds, counts = [1.0, 2.0, 4.0], [0.0, 10.0, 10.0, 10.0]

    assert histogram_quantile(0.5, bounds, counts) == pytest.approx(1.5)
    assert histogram_quantile(1.0, bounds, counts) == pytest.approx(2.0)
    assert histogram_quantile(0.5, bounds, [0.0, 0.0, 0.0, 0.0]) is None


def test_histogram_quantile__above_the_last_bound_answers_that_bound():
    assert histogram_quantile(0.99, [1.0, 2.0], [0.0, 0.0, 5.0]) == 2.0
    assert not math.isinf(histogram_quantile(0.5, [1.0], [0.0, 3.0]))


@pytest.mark.django_db
def test_admin__lists_what_players_ask_each_npc_most_asked_first(admin_client):
    """Content editors read the reply cache's demand to write the NPCs' asked questions."""
    from llm.models import ReplyDemand

    ReplyDemand.objects.create(npc_slug="gareth", question="s:abc", context="c1", line="whats the ferry cost", asks=2)
    ReplyDemand.objects.create(npc_slug="gareth", question="a:def", context="c1", line="How much does a room cost?", asks=9)

    page = admin_client.get("/admin/llm/replydemand/")

    assert page.status_code == 200
    text = page.content.decode()
    assert text.index("How much does a room cost?") < text.index("whats the ferry cost")
    assert admin_client.get("/admin/llm/replydemand/add/").status_code == 403
