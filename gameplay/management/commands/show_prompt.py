"""`manage.py show_prompt <game id> <npc slug> "<player line>"`: print exactly the messages the NPC
would be given for that line now, with each memory's scores and why it was chosen, and the canon
facts picked for the line and why (keyword, meaning or always)."""
from django.core.management.base import BaseCommand, CommandError

from gameplay.inspector import prompt_report_now
from gameplay.rules.context import Refusal
from gameplay.services import GameNotFound


class Command(BaseCommand):
    help = "Show the prompt an NPC would be given for a player's line, with the memories chosen and their scores."

    def add_arguments(self, parser):
        parser.add_argument("game_id")
        parser.add_argument("npc")
        parser.add_argument("line")

    def handle(self, *args, **options):
        try:
            report = prompt_report_now(game_id=options["game_id"], npc=options["npc"], line=options["line"])
        except (GameNotFound, Refusal) as exc:
            raise CommandError(f"Cannot build that prompt: {exc}") from exc
        for message in report["messages"]:
            self.stdout.write(self.style.MIGRATE_HEADING(f"--- {message['role']} ---"))
            self.stdout.write(message["content"])
        self.stdout.write(self.style.MIGRATE_HEADING("--- tokens ---"))
        budget = report["budget"]
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in report["tokens"].items())
                          + f" (context window {budget['context_window']}, reply {budget['reply']}, memory budget {budget['memories']})")
        if report["dropped"]:
            self.stdout.write("dropped to fit: " + ", ".join(report["dropped"]))
        self.stdout.write(self.style.MIGRATE_HEADING(f"--- canon facts picked: {len(report['canon'])} ---"))
        for fact in report["canon"]:
            where = "" if fact["in_prompt"] else " [left out: no room]"
            self.stdout.write(f"{fact['key']} ({fact['why']}){where}: {fact['text']}")
        self.stdout.write(self.style.MIGRATE_HEADING(f"--- memories chosen: {len(report['memories'])} ---"))
        for m in report["memories"]:
            self.stdout.write(
                f"score {m['score']:.3f} = recency {m['recency']:.2f} + importance {m['importance']:.2f} + relevance {m['relevance']:.2f}"
                f"{' [pinned]' if m['pinned'] else ''} ({m['kind']}, minute {m['game_minute']}): {m['text']}\n    why: {m['why']}"
            )
