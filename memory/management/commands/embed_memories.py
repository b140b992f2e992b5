"""`manage.py embed_memories [--limit N]`: embed the memories still waiting for it now (the periodic job)."""
from django.core.management.base import BaseCommand

from memory.services import memory_embed_due


class Command(BaseCommand):
    help = "Embed NPC memories that were recorded before their embedding (normally done in the background)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=200, help="At most this many (game, NPC) pairs.")

    def handle(self, *args, **options):
        embedded = memory_embed_due(limit=options["limit"])
        self.stdout.write(self.style.SUCCESS(f"Embedded {embedded} memory records."))
