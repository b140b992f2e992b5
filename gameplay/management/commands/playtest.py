"""`manage.py playtest --lines FILE --out DIR [--model-url URL] [--cache] [--record NAME | --replay NAME]
[--tolerance PTS] [--timing-tolerance PCT] [--judge URL] [--limit N]`: play a line file through the real game against the
configured model, in a throwaway database, and write the transcript and the scorecard
(docs/playtest.md). With --record the run is kept as a golden run; with --replay a golden run's
lines are played again and compared with it (exit code 1 on a regression)."""
from __future__ import annotations

import asyncio
import json
import logging
import shlex
import sys
import time
from contextlib import nullcontext
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from gameplay.playtest.lines import LineFileError, lines_count, lines_dump, lines_limit, lines_load, lines_parse
from gameplay.playtest.replay import (figures_compare, golden_dir, golden_missing, golden_store, replay_regressed,
                                      replay_summary, replay_table, verdicts_changed)
from gameplay.playtest.runner import (aplaytest_play, doc_table_write, playtest_database, playtest_model, playtest_settings,
                                      playtest_write, progress_printer, transcript_read)


class Command(BaseCommand):
    help = "Play a line file through the real game and score the NPCs' replies (docs/playtest.md)."

    def add_arguments(self, parser):
        parser.add_argument("--lines", default="tests/playtest/lines.json", help="The line file to play (JSON).")
        parser.add_argument("--out", default="var/playtest/last", help="Where transcript.jsonl, report.json and report.md go.")
        parser.add_argument("--model-url", default="", help="An OpenAI-compatible base URL (default: OPENAI_BASE_URL, else the embedded model).")
        parser.add_argument("--cache", action="store_true", help="Let the reply cache answer (off by default: every reply is the model's).")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--record", metavar="NAME", help="Keep this run as the golden run NAME (var/playtest/golden/NAME, or a path).")
        group.add_argument("--replay", metavar="NAME", help="Play the golden run NAME's lines again and compare (exit 1 on a regression).")
        parser.add_argument("--tolerance", type=float, default=2.0,
                            help="How much worse a rate with a target may get on --replay, in percentage points (2).")
        parser.add_argument("--timing-tolerance", type=float, default=25.0,
                            help="How much worse a timing may get on --replay, in percent, before it counts (25); "
                                 "it fails the replay only when it also misses its target.")
        parser.add_argument("--judge", metavar="URL", default="", help="An OpenAI-compatible judge model scoring stay-in-character 1-10, reported apart.")
        parser.add_argument("--limit", type=int, default=None, help="Play only the first N lines.")
        parser.add_argument("--write-doc", nargs="?", const="docs/playtest.md", default=None, metavar="DOC",
                            help="Write the run's figures into the table of docs/playtest.md (or DOC).")
        parser.add_argument("--database", choices=("throwaway", "current"), default="throwaway",
                            help="throwaway (default): a fresh database under --out; current: the configured one (the test suite's).")

    def handle(self, *args, **options):
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit takes a number of lines, 1 or more.")
        out = Path(options["out"])
        golden = golden_dir(options["replay"]) if options["replay"] else None
        if golden is not None and (missing := golden_missing(golden)):
            raise CommandError(f"No golden run at {golden} (missing {', '.join(missing)}); make one with --record.")
        lines_path = golden / "lines.json" if golden is not None else Path(options["lines"])
        try:
            conversations = lines_limit(lines_load(lines_path), options["limit"])
        except LineFileError as exc:
            raise CommandError(str(exc)) from None
        out.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        rows, model, card = self._play(conversations, out, options)
        judge = self._judge(rows, options["judge"]) if options["judge"] else None
        report = playtest_write(out, rows, card, lines=str(lines_path), model=model, cache=options["cache"],
                                command=self._command(options), seconds=time.monotonic() - started, judge=judge)
        self.stdout.write(f"{len(rows)} lines played in {report['seconds']:.0f} s; the report is in {out / 'report.md'}.")
        if options["write_doc"]:
            try:
                doc_table_write(Path(options["write_doc"]), report)
            except (OSError, ValueError) as exc:
                raise CommandError(f"The figures were not written into the doc: {exc}") from None
            self.stdout.write(f"The figures are in {options['write_doc']}'s table.")
        if options["record"]:
            target = golden_dir(options["record"])
            golden_store(target, lines=lines_dump(conversations), out=out)
            self.stdout.write(f"Kept as the golden run {target}.")
        if golden is not None:
            self._compare(golden, out, report, rows, options["tolerance"], options["timing_tolerance"])

    def _play(self, conversations, out: Path, options) -> tuple[list[dict], str, dict]:
        say = lambda text: self.stderr.write(text)  # noqa: E731
        if options["verbosity"] < 2:  # the game's own INFO lines would bury the progress: -v 2 shows them
            logging.disable(logging.INFO)
        from llm.local_server import LocalServerError

        try:
            return self._play_quietly(conversations, out, options, say)
        except LocalServerError as exc:
            raise CommandError(f"{exc} Set TANKARD_LOCAL_LLM_PORT to a free port, or --model-url / OPENAI_BASE_URL "
                               "to another server.") from exc
        finally:
            logging.disable(logging.NOTSET)

    def _play_quietly(self, conversations, out: Path, options, say) -> tuple[list[dict], str, dict]:
        from gameplay.playtest.scorecard import scorecard

        with override_settings(**playtest_settings(cache=options["cache"])):
            database = playtest_database(out) if options["database"] == "throwaway" else nullcontext()
            with database:
                self._check_npcs(conversations)
                with playtest_model(options["model_url"] or None, say=say) as model:
                    self.stderr.write(f"Playing {lines_count(conversations)} lines against {model}...")
                    progress = progress_printer(lambda text: self.stderr.write(text, ending=""), tty=self.stderr.isatty())
                    rows = asyncio.run(aplaytest_play(conversations, progress=progress, transcript=out / "transcript.jsonl"))
                card = scorecard(rows)  # in the run's database: the scorecard checks replies against its world
        return rows, model, card

    def _check_npcs(self, conversations) -> None:
        from gameplay.world import world_current

        known = set(world_current().npcs)
        dumped = lines_dump(conversations)
        try:
            lines_parse(dumped, stem="lines", source="the line file", npcs=known)
        except LineFileError as exc:
            raise CommandError(str(exc)) from None

    def _judge(self, rows: list[dict], url: str) -> dict:
        from gameplay.playtest.judge import judge_score

        self.stderr.write(f"Asking the judge at {url}...")
        return judge_score(rows, url, say=self.stderr.write)

    def _compare(self, golden: Path, out: Path, report: dict, rows: list[dict], tolerance: float, timing: float) -> None:
        from gameplay.playtest.scorecard import FIGURES

        kept = json.loads((golden / "report.json").read_text(encoding="utf-8"))
        golden_card = kept["scorecard"]
        changes = figures_compare(golden_card, report["scorecard"], specs=FIGURES, tolerance=tolerance, timing_tolerance=timing)
        verdicts = verdicts_changed(golden_card, report["scorecard"], transcript_read(golden / "transcript.jsonl"), rows)
        self.stdout.write(f"Against the golden run {golden}\n"
                          f"  golden: {kept.get('model')}, reply cache {'on' if kept.get('cache') else 'off'}, {kept.get('date')}\n"
                          f"  now:    {report['model']}, reply cache {'on' if report['cache'] else 'off'}, {report['date']}\n\n"
                          + replay_table(changes, verdicts))
        (out / "replay.json").write_text(json.dumps(replay_summary(changes, verdicts), indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
        if replay_regressed(changes):
            worse = ", ".join(c.label for c in changes if c.regressed)
            raise CommandError(f"Worse than the golden run beyond the tolerance: {worse}.", returncode=1)

    @staticmethod
    def _command(options) -> str:
        argv = sys.argv[1:] if sys.argv[1:2] == ["playtest"] else None
        if argv is None:  # called from code: the options as they would be typed
            argv = ["playtest", "--lines", options["lines"], "--out", options["out"]]
            for name in ("model_url", "record", "replay", "judge", "limit"):
                if options.get(name):
                    argv += [f"--{name.replace('_', '-')}", str(options[name])]
            argv += ["--cache"] if options["cache"] else []
        return "manage.py " + shlex.join(argv)

