"""`manage.py refine_importance [--limit N]`: have the model rate pending memories now (the periodic job)."""
from django.core.management.base import BaseCommand

from memory.services import memory_refine_due


class Command(BaseCommand):
    help = "Ask the model to rate the importance of memories still scored by the heuristic alone."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=20, help="At most this many records.")

    def handle(self, *args, **options):
        rated = memory_refine_due(limit=options["limit"])
        self.stdout.write(self.style.SUCCESS(f"Rated {rated} memory records."))
