"""Admin for NPCs: persona, topics and schedule, edited by content editors."""
from django.contrib import admin

from llm.reply_cache import reply_cache_purge

from .models import Npc, NpcState, NpcTopic, ScheduleSlot
from .services import npc_persona_touch


class NpcTopicInline(admin.TabularInline):
    model = NpcTopic
    extra = 0


class ScheduleSlotInline(admin.TabularInline):
    model = ScheduleSlot
    extra = 0


@admin.register(Npc)
class NpcAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "role", "initial_mood", "is_active", "persona_version", "updated_at")
    list_filter = ("is_active", "initial_mood")
    search_fields = ("name", "slug", "role", "personality")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (NpcTopicInline, ScheduleSlotInline)
    readonly_fields = ("persona_version",)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change:
            npc_persona_touch(npc=form.instance)
            reply_cache_purge(npc_id=form.instance.pk)  # the version in the key already stops old replies; this frees them


@admin.register(NpcState)
class NpcStateAdmin(admin.ModelAdmin):
    list_display = ("npc", "game_id", "mood", "relationship", "updated_at")
    list_filter = ("mood", "npc")
    search_fields = ("game_id", "npc__slug")
    readonly_fields = ("game_id", "npc", "updated_at")
