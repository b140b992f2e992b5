"""`manage.py pregenerate [--npc SLUG] [--max N]`: pre-generate likely NPC replies now (the periodic job, run directly)."""
from django.core.management.base import BaseCommand

from npcs.pregen import npc_replies_pregenerate


class Command(BaseCommand):
    help = "Make the NPC replies players are most likely to ask for next and keep them in the reply cache."

    def add_arguments(self, parser):
        parser.add_argument("--npc", help="Only this NPC (a slug).")
        parser.add_argument("--max", type=int, default=None, help="At most this many model calls (default: the setting).")

    def handle(self, *args, **options):
        report = npc_replies_pregenerate(max_replies=options["max"], npc=options["npc"])
        self.stdout.write(self.style.SUCCESS(
            f"Pre-generated {report.made} replies ({report.skipped} not kept, {report.failed} failed; {report.pruned} stale pruned)."
        ))
