"""Pages of the game: the play page (a private tavern, or a shared one) and the staff dashboard."""
from django.urls import path

from . import staff, views

app_name = "gameplay"

urlpatterns = [
    path("", views.game_page, name="play"),
    path("tavern/", views.tavern_page, {"name": ""}),
    path("tavern/<path:name>/", views.tavern_page, name="tavern"),
    path("staff/", staff.dashboard, name="staff"),
    path("staff/stats.json", staff.stats_json, name="staff-stats"),
    path("staff/prompts/", staff.prompts, name="staff-prompts"),
    path("staff/prompts/<int:turn_id>/", staff.prompt_detail, name="staff-prompt"),
]
