"""HTTP views: the game page creates or resumes the player's game through the session cookie."""
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import limits, services


@require_GET
def game_page(request: HttpRequest) -> HttpResponse:
    if not services.game_exists(game_id=request.session.get("game_id", "")) and not limits.game_create_allowed(
        client=request.META.get("REMOTE_ADDR", "")
    ):
        return render(request, "gameplay/door_barred.html", status=429)
    game = services.game_for_session(session=request.session, user=request.user)
    return render(
        request,
        "gameplay/game.html",
        {
            "game_id": str(game.id),
            "ws_path": "/ws/play/",
            "max_line": settings.TANKARD_MAX_LINE_CHARS,
            "debug": settings.DEBUG,
        },
    )
