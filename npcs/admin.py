"""Admin for NPCs (persona, topics and schedule) and canon facts, edited by content editors."""
from django.contrib import admin

from llm.reply_cache import reply_cache_purge

from .models import CanonFact, Npc, NpcState, NpcTopic, ScheduleSlot
from .services import canon_fact_changed, npc_persona_touch


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


@admin.register(CanonFact)
class CanonFactAdmin(admin.ModelAdmin):
    """A saved fact reaches every process's prompts and checks at once (the world reloads), and the
    cached replies it contradicts are evicted. docs/world.md ("Canon") says how to write one."""

    list_display = ("key", "text", "keywords", "always", "priority", "is_active", "updated_at")
    list_filter = ("is_active", "always", "npcs")
    search_fields = ("key", "text", "keywords")
    prepopulated_fields = {"key": ("text",)}
    filter_horizontal = ("npcs",)
    fieldsets = (
        (None, {"fields": ("key", "text", "npcs", "is_active")}),
        ("When it goes into the prompt", {"fields": ("keywords", "meaning_match", "always", "priority")}),
        ("What a reply may not say", {"fields": ("subject", "value", "holds", "never"),
                                      "description": "Held-back replies are asked for again with the fact restated, then "
                                                     "answered with the NPC's own line."}),
    )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)  # the NPCs it applies to are saved by now
        canon_fact_changed(fact=form.instance)
