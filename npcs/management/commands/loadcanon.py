"""`manage.py loadcanon FILE`: load designer-pinned canon facts from a JSON list, all or none."""
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from npcs.services import CanonEntryError, canon_facts_load


class Command(BaseCommand):
    help = ('Load canon facts from a JSON list of {"text", "keywords", "npcs"} (and optional key, meaning_match, '
            "always, priority, subject, value, holds, never, active). Loading twice changes nothing; a bad entry "
            "loads nothing.")

    def add_arguments(self, parser):
        parser.add_argument("path", help="A JSON file: a list of facts.")

    def handle(self, *args, **options):
        path = Path(options["path"])
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from exc
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from exc
        try:
            counts = canon_facts_load(entries=entries)
        except CanonEntryError as exc:
            raise CommandError(f"{path}: {exc}; nothing was loaded") from exc
        self.stdout.write(self.style.SUCCESS(f"Canon loaded: {counts['created']} new, {counts['updated']} already known"))
