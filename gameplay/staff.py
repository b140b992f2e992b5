"""The staff dashboard: a page of live charts and its JSON feed (staff only, login via /admin/)."""
from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .inspector import prompt_report_now
from .prompt_reports import prompt_report_kept
from .selectors import say_turns_recent, turn_get
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


@staff_member_required
@require_GET
def prompts(request: HttpRequest) -> HttpResponse:
    """Recent NPC replies, each linking to the prompt it was given."""
    return render(request, "staff/prompts.html", {"turns": say_turns_recent(limit=50)})


@staff_member_required
@require_GET
def prompt_detail(request: HttpRequest, turn_id: int) -> HttpResponse:
    turn = turn_get(turn_id=turn_id)
    if turn is None or turn.kind != "say":
        raise Http404("No such reply.")
    report = prompt_report_kept(game_id=str(turn.game_id), client_id=turn.client_id)
    rebuilt = report is None
    if rebuilt:
        report = prompt_report_now(game_id=str(turn.game_id), npc=turn.npc_slug, line=turn.text)
    return render(request, "staff/prompt_detail.html", {"turn": turn, "report": report, "rebuilt": rebuilt})
