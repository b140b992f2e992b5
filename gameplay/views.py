"""HTTP views: the game page creates or resumes the player's game through the session cookie, in a
private tavern (`/`) or a shared one (`/tavern/<name>/`, made on the first visit)."""
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import limits, services
from .tavern.names import TAVERN_NAME_MAX, tavern_name_clean
from .tavern.services import TavernBarred, tavern_enter

TOO_MANY_NEW = ("Gareth peers through the grille. “That's a lot of new faces from your end of the road tonight, friend. "
                "Come back in a while, and bring your own face with you.”")
BARRED = {
    "bad_name": (404, f"Gareth squints at the sign you point to. “No tavern by that name on any road I know. A tavern's "
                      f"name is letters, digits and dashes, {TAVERN_NAME_MAX} at most: try /tavern/the-crossroads/.”"),
    "closed": (403, "The shutters are down and the door is barred. A note nailed to it reads: “Closed by order of the "
                    "house.” The common room at the sign of the Tankard is still open, though."),
    "busy": (429, "Gareth peers through the grille. “You've opened more taverns tonight than I've poured ales. "
                  "Come back in a while.”"),
}


@require_GET
def game_page(request: HttpRequest) -> HttpResponse:
    return _play(request, ws_path="/ws/play/")


@require_GET
def tavern_page(request: HttpRequest, name: str) -> HttpResponse:
    """A shared tavern: the same page and socket, in the hearing of everyone else there."""
    clean = tavern_name_clean(name)
    try:
        if clean is None:
            raise TavernBarred("bad_name")
        tavern = tavern_enter(name=clean, client=request.META.get("REMOTE_ADDR", ""))
    except TavernBarred as barred:
        status, words = BARRED[barred.reason]
        return render(request, "gameplay/door_barred.html", {"words": words}, status=status)
    return _play(request, ws_path=f"/ws/play/?tavern={tavern.name}", tavern=tavern.name)


def _play(request: HttpRequest, *, ws_path: str, tavern: str = "") -> HttpResponse:
    if not services.game_exists(game_id=request.session.get("game_id", "")) and not limits.game_create_allowed(
        client=request.META.get("REMOTE_ADDR", "")
    ):
        return render(request, "gameplay/door_barred.html", {"words": TOO_MANY_NEW}, status=429)
    game = services.game_for_session(session=request.session, user=request.user)
    return render(
        request,
        "gameplay/game.html",
        {
            "game_id": str(game.id),
            "ws_path": ws_path,
            "tavern": tavern,
            "max_line": settings.TANKARD_MAX_LINE_CHARS,
            "debug": settings.DEBUG,
        },
    )
