"""The staff dashboard: a page of live charts and its JSON feed (staff only, login via /admin/)."""
from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .stats import stats_snapshot

POLL_SECONDS = 5
WINDOW_POINTS = 120  # ten minutes of 5-second polls


@staff_member_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "staff/dashboard.html",
        {"stats_url": reverse("gameplay:staff-stats"), "poll_seconds": POLL_SECONDS, "window_points": WINDOW_POINTS},
    )


@never_cache
@staff_member_required
@require_GET
def stats_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(stats_snapshot())
