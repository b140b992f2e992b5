"""URLs: the game pages, admin, health at /ht/, Prometheus metrics at /metrics."""
from django.contrib import admin
from django.urls import include, path

from .health import HealthView
from .metrics import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("ht/", HealthView.as_view(), name="ht"),
    path("metrics", metrics_view, name="metrics"),
    path("", include("gameplay.urls")),
]
