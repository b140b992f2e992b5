"""Admin: what players ask each NPC as a first line (the reply cache's demand), read-only. Content
editors read it to write the NPCs' `asked` questions (docs/world.md): a question asked often that
no NPC question or canonical question claims shows here under its own words."""
from django.contrib import admin

from .models import ReplyDemand


@admin.register(ReplyDemand)
class ReplyDemandAdmin(admin.ModelAdmin):
    list_display = ("npc_slug", "line", "asks", "question", "part", "last_asked_at")
    list_filter = ("npc_slug", "part")
    search_fields = ("line",)
    ordering = ("-asks",)
    fields = ("npc_slug", "line", "asks", "question", "part", "mood", "tier", "flags", "last_asked_at")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
