"""Admin for the world's content (locations, items, jobs, bounties, rumours, the mystery), a
read-only view of games, and the shared taverns (who is in each; staff may close one). Edits reach
running games through gameplay/signals.py."""
from django.contrib import admin, messages

from .models import (
    Bounty, BountyObjective, Clue, Feature, Game, Item, Job, Location, Mystery, Patron, Rumour, Tavern, TavernClaim, Turn,
    WorldConfig,
)
from .tavern.selectors import present_since
from .tavern.services import tavern_close, tavern_reopen


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
    list_display = ("name", "slug", "kind", "price", "seller", "consumable", "recommended")
    list_editable = ("recommended",)
    list_filter = ("kind", "consumable", "recommended", "sold_at", "seller")
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


class PatronInline(admin.TabularInline):
    model = Patron
    fields = ("name", "location", "sockets", "seen_at", "joined_at", "game")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class TavernClaimInline(admin.TabularInline):
    model = TavernClaim
    fields = ("key", "name", "claimed_at")
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Tavern)
class TavernAdmin(admin.ModelAdmin):
    list_display = ("name", "who_is_in", "created_at", "closed_at")
    list_filter = (("closed_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "patrons__name")
    readonly_fields = ("name", "created_at", "closed_at")
    inlines = (PatronInline, TavernClaimInline)
    actions = ("close_taverns", "reopen_taverns")

    @admin.display(description="who is in (where)")
    def who_is_in(self, tavern: Tavern) -> str:
        present = tavern.patrons.filter(sockets__gt=0, seen_at__gte=present_since()).order_by("location", "name_key")
        return ", ".join(f"{p.name} ({p.location})" for p in present[:50]) or "nobody"

    def has_add_permission(self, request) -> bool:
        return False  # a tavern is opened by its first visitor

    @admin.action(description="Close the selected taverns (everyone in them is shown out)")
    def close_taverns(self, request, queryset) -> None:
        closed = sum(tavern_close(tavern_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"{closed} tavern(s) closed.", messages.SUCCESS)

    @admin.action(description="Open the selected taverns again")
    def reopen_taverns(self, request, queryset) -> None:
        opened = sum(tavern_reopen(tavern_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"{opened} tavern(s) opened again.", messages.SUCCESS)
