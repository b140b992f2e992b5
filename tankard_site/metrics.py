"""/metrics: the process's Prometheus registry in the text exposition format, for staff or a scraper.

Access: a staff user's session, or `Authorization: Bearer <TANKARD_METRICS_TOKEN>` (an empty
token turns bearer access off). The metrics themselves are defined by the apps that own what they
measure (llm/metrics.py, gameplay/metrics.py); importing them here registers them.
"""
from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

import gameplay.metrics  # noqa: F401  (registers its metrics)
import llm.metrics  # noqa: F401


def metrics_allowed(request: HttpRequest) -> bool:
    """A staff session, or the bearer token when one is configured."""
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return True
    token = settings.TANKARD_METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return HttpResponseForbidden("Staff or the metrics token only.\n", content_type="text/plain")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
