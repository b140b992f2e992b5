"""`manage.py loadworld [path]`: (re)load the shipped world content."""
from pathlib import Path

from django.core.management.base import BaseCommand

from gameplay.content import WORLD_FILE, world_content_load


class Command(BaseCommand):
    help = "Load or reload the world content (locations, NPCs, items, jobs, bounties, rumours, the mystery)."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(WORLD_FILE), help="A world JSON file (default: the shipped tavern).")

    def handle(self, *args, **options):
        counts = world_content_load(path=Path(options["path"]))
        self.stdout.write(self.style.SUCCESS("World loaded: " + ", ".join(f"{n} {k}" for k, n in counts.items())))
