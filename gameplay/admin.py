"""Admin for the world's content (locations, items, jobs, bounties, rumours, the mystery) and a
read-only view of games. Edits reach running games through gameplay/signals.py."""
from django.contrib import admin

from .models import Bounty, BountyObjective, Clue, Feature, Game, Item, Job, Location, Mystery, Rumour, Turn, WorldConfig


class FeatureInline(admin.StackedInline):
    model = Feature
    extra = 0


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "private", "is_start", "order")
    list_filter = ("private", "is_start")
    search_fields = ("name", "slug", "description")
    filter_horizontal = ("exits",)
    inlines = (FeatureInline,)


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "price", "seller", "consumable")
    list_filter = ("kind", "consumable", "sold_at", "seller")
    search_fields = ("name", "slug", "description")
    filter_horizontal = ("sold_at",)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "location", "giver", "pay", "minutes", "tiredness", "min_tier")
    list_filter = ("location", "giver", "min_tier")
    search_fields = ("name", "slug", "description")


class BountyObjectiveInline(admin.TabularInline):
    model = BountyObjective
    extra = 0


@admin.register(Bounty)
class BountyAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "giver", "min_tier", "reward_gold", "is_active")
    list_filter = ("is_active", "giver", "min_tier")
    search_fields = ("title", "slug", "description")
    inlines = (BountyObjectiveInline,)


@admin.register(Rumour)
class RumourAdmin(admin.ModelAdmin):
    list_display = ("slug", "source", "days", "text")
    list_filter = ("source",)
    search_fields = ("slug", "text")


class ClueInline(admin.StackedInline):
    model = Clue
    extra = 0


@admin.register(Mystery)
class MysteryAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "culprit", "min_clues", "reward_gold")
    search_fields = ("title", "slug", "intro")
    inlines = (ClueInline,)


@admin.register(WorldConfig)
class WorldConfigAdmin(admin.ModelAdmin):
    list_display = ("__str__", "start_gold", "start_day", "start_hour", "min_bet", "max_bet")


@admin.register(Turn)
class TurnAdmin(admin.ModelAdmin):
    list_display = ("game", "version", "kind", "npc_slug", "source", "created_at")
    list_filter = ("kind", "source")
    search_fields = ("game__id", "text")
    readonly_fields = ("game", "version", "client_id", "kind", "npc_slug", "text", "final", "source", "game_minute", "created_at")


@admin.register(Game)
class GameAdmin(admin.ModelAdmin):
    list_display = ("id", "version", "user", "created_at", "updated_at")
    search_fields = ("id", "session_key")
    readonly_fields = ("id", "session_key", "user", "state", "version", "checksum", "created_at", "updated_at")
    date_hierarchy = "created_at"
