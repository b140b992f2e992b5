"""`manage.py run [--host H] [--port P]`: serve the game with daphne; with no OPENAI_BASE_URL, also
start and supervise the local model server; in the embedded mode, also run the periodic background
jobs in-process (production runs Celery worker and beat instead)."""
from __future__ import annotations

import errno
import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Start the game server (and, in the embedded mode, the local model and background jobs)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("TANKARD_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("TANKARD_PORT", "8000")))
        parser.add_argument("--no-local-model", action="store_true", help="Do not start the local model server.")

    def handle(self, *args, **options):
        from daphne.cli import CommandLineInterface

        from llm.local_server import LocalServerError, llm_base_url, llm_is_local, probe_models, start_local_server, stop_local_server

        self._check_address(options["host"], options["port"], local=llm_is_local() and not options["no_local_model"])
        supervised = False
        if llm_is_local() and not options["no_local_model"]:
            self.stdout.write("Starting the local model server (SmolLM2-135M)...")
            try:
                supervisor = start_local_server(wait=60)
                supervised = True
                self._selftest(supervisor)
            except LocalServerError as exc:
                if not probe_models(llm_base_url()):
                    raise CommandError(f"{exc} Set TANKARD_LOCAL_LLM_PORT to a free port, or OPENAI_BASE_URL to another server.") from exc
                # A model server left running on that port (an earlier run that was killed): use it.
                self.stdout.write(self.style.WARNING(f"A model server already answers at {llm_base_url()}; using it."))
        if settings.CELERY_TASK_ALWAYS_EAGER:
            from gameplay.background import background_start

            background_start()
        self.stdout.write(self.style.SUCCESS(f"The Living Rusted Tankard is open at http://{options['host']}:{options['port']}/"))
        try:
            CommandLineInterface().run(["-b", options["host"], "-p", str(options["port"]), settings.ASGI_APPLICATION.replace(".application", ":application")])
        finally:
            if supervised:
                stop_local_server()

    def _check_address(self, host: str, port: int, *, local: bool) -> None:
        """Say in plain words, before anything starts, when the game cannot have its address (not
        daphne's "Listen failure" once the model server has started)."""
        from llm.local_server import bind_error

        model_port = settings.TANKARD_LLM["LOCAL_PORT"]
        if local and port == model_port:
            raise CommandError(
                f"Port {port} is the local model server's. Choose another port for the game (--port or "
                "TANKARD_PORT), or move the model server (TANKARD_LOCAL_LLM_PORT)."
            )
        failed = bind_error(host, port)
        if failed is None:
            return
        if failed.errno == errno.EADDRINUSE:
            raise CommandError(
                f"Port {port} on {host} is taken by another program (a game still running?). Stop it, "
                "or choose another port (--port or TANKARD_PORT)."
            ) from failed
        raise CommandError(f"The game cannot listen at {host}:{port}: {failed.strerror or failed}.") from failed

    def _selftest(self, supervisor) -> None:
        """One short real reply before the game opens; a model that fails it is reported in plain
        words (and in /ht/), and the game opens on the NPCs' stock lines."""
        from llm.selftest import backend_selftest, selftest_advice

        result = backend_selftest(supervisor=supervisor)
        if result.ok:
            self.stdout.write(f"The local model answers ({result.seconds:.1f} s for a short reply).")
        else:
            self.stderr.write(self.style.ERROR(selftest_advice(result.problem, local=True)))
