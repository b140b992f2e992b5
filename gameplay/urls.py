"""Pages of the game: the play page and health."""
from django.urls import path

from . import views

app_name = "gameplay"

urlpatterns = [
    path("", views.game_page, name="play"),
]
