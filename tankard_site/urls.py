"""URLs: the game page, admin, health at /ht/."""
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("gameplay.urls")),
]
