"""Admin: read what NPCs remember, and summarise or forget from an action (which calls services)."""
from django.contrib import admin

from .models import MemoryArchive, MemoryLedger, MemoryRecord
from .services import memory_summarise


@admin.register(MemoryRecord)
class MemoryRecordAdmin(admin.ModelAdmin):
    list_display = ("npc_slug", "kind", "short_text", "importance", "importance_source", "pinned", "game_minute", "last_used_minute")
    list_filter = ("kind", "pinned", "importance_source", "npc_slug")
    search_fields = ("text", "key", "game_id")
    readonly_fields = ("embedding",)

    @admin.display(description="text")
    def short_text(self, record: MemoryRecord) -> str:
        return record.text[:80]


@admin.register(MemoryArchive)
class MemoryArchiveAdmin(admin.ModelAdmin):
    list_display = ("game_id", "npc_slug", "rows", "first_minute", "last_minute")
    search_fields = ("game_id", "npc_slug")
    readonly_fields = ("data",)


@admin.register(MemoryLedger)
class MemoryLedgerAdmin(admin.ModelAdmin):
    list_display = ("game_id", "npc_slug", "raw_count", "version", "fold_claimed_at")
    search_fields = ("game_id", "npc_slug")
    actions = ("summarise_now",)

    @admin.action(description="Summarise the selected memories now")
    def summarise_now(self, request, queryset):
        folded = sum(memory_summarise(game_id=ledger.game_id, npc_slug=ledger.npc_slug) for ledger in queryset)
        self.message_user(request, f"Folded {folded} records.")
