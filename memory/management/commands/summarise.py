"""`manage.py summarise [--game ID --npc SLUG]`: fold NPC memories now (the periodic job, run directly)."""
from django.core.management.base import BaseCommand, CommandError

from memory.services import memory_summarise, memory_summarise_due


class Command(BaseCommand):
    help = "Fold old NPC conversation turns into summaries: every (game, NPC) that is due, or just one."

    def add_arguments(self, parser):
        parser.add_argument("--game", help="A game id (with --npc).")
        parser.add_argument("--npc", help="An NPC slug (with --game).")
        parser.add_argument("--limit", type=int, default=100, help="At most this many (game, NPC) pairs when due.")

    def handle(self, *args, **options):
        if bool(options["game"]) != bool(options["npc"]):
            raise CommandError("Give --game and --npc together, or neither.")
        if options["game"]:
            folded = memory_summarise(game_id=options["game"], npc_slug=options["npc"])
        else:
            folded = memory_summarise_due(limit=options["limit"])
        self.stdout.write(self.style.SUCCESS(f"Folded {folded} memory records."))
