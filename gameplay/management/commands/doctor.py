"""`manage.py doctor` (`./tankard doctor`): versions, then one real try of each part of the game
(gameplay/doctor.py); exit code 1 when any required check fails."""
from __future__ import annotations

import logging

from django.core.management.base import BaseCommand, CommandError

from gameplay.doctor import CHECKS, installed_versions


class Command(BaseCommand):
    help = "Say what is installed and check that the database, Redis, PostgreSQL, the model and the embeddings work."

    def handle(self, *args, **options):
        logging.disable(logging.INFO)  # the report is the output: not the servers' request logs
        try:
            self._report()
        finally:
            logging.disable(logging.NOTSET)

    def _report(self) -> None:
        self.stdout.write("Installed:")
        for name, version in installed_versions():
            self.stdout.write(f"  {name:<40} {version}")
        self.stdout.write("Checks:")
        failed = []
        for check in CHECKS:
            finding = check()
            mark = self.style.SUCCESS("ok  ") if finding.ok else (
                self.style.ERROR("FAIL") if finding.required else self.style.WARNING("warn"))
            self.stdout.write(f"  {mark} {finding.name}: {finding.detail}")
            if not finding.ok and finding.required:
                failed.append(finding.name)
        if failed:
            raise CommandError(f"{len(failed)} check(s) failed: {', '.join(failed)}. "
                               "See above for what to try; OPENAI_BASE_URL can point the game at another model server.")
        self.stdout.write(self.style.SUCCESS("All checks passed."))
