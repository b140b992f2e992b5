"""`./tankard bench [NAME...] [--quick] [--machine TEXT]`: run the benchmarks, keep each one's figures
in bench/results/NAME.json, and regenerate the table of docs/benchmarks.md between its markers.

Every bench writes its figures with `--json PATH` in the form bench/report.py describes. A bench whose
command is not a bench/ script (`manage.py playtest`) names the file its command writes (`report`,
with `{out}` for a fresh directory) and an adapter that turns that file into figures. A bench that was
not run this time keeps its last figures in the table, with their own date; one whose script does not
exist yet is listed as not available; one that cannot run here (the production set without Redis or
PostgreSQL) as not run, with the reason. `--quick` runs each bench's short form (a few minutes in
all); a bench with no short form is not run by it.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import report as bench_report  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
LOGS = ROOT / "var" / "bench"
TABLE_START = "<!-- bench:table:start (./tankard bench writes this table; edit bench/run.py, not the table) -->"
TABLE_END = "<!-- bench:table:end -->"
FIGURE_KEYS = {"name", "value", "unit", "target", "met", "baseline"}
TIMEOUT = {"quick": 20 * 60, "full": 2 * 60 * 60}  # seconds a bench may take before it is stopped


@dataclass(frozen=True)
class Bench:
    """One benchmark: how to run it (normal and short form), and what it needs."""

    name: str
    command: tuple[str, ...]  # from the project root, run with this Python: a bench/ script, or manage.py and its command
    args: tuple[str, ...] = ()
    quick: tuple[str, ...] | None = ()  # None: no short form (--quick does not run it)
    needs: Callable[[], str | None] | None = None  # why it cannot run here, or None
    report: str | None = None  # not a bench script: the file its command writes ("{out}" is a fresh directory)
    adapter: Callable[[dict], list[dict]] | None = None  # that file -> figures

    def unavailable(self) -> str | None:
        """Why this bench cannot be run at all yet (its script or command does not exist), or None."""
        if self.command[0] == "manage.py":
            found = list(ROOT.glob(f"*/management/commands/{self.command[1]}.py"))
            return None if found else f"manage.py {self.command[1]} does not exist yet"
        return None if (ROOT / self.command[0]).exists() else f"{self.command[0]} does not exist yet"

    def argv(self, quick: bool, out: Path, json_path: Path) -> list[str]:
        args = self.quick if quick else self.args
        argv = [sys.executable, *self.command, *(a.replace("{out}", str(out)) for a in args or ())]
        return argv if self.report else argv + ["--json", str(json_path)]

    def shown(self, quick: bool) -> str:
        """The command as a person would type it from the project root."""
        args = self.quick if quick else self.args
        return " ".join([".venv/bin/python", *self.command, *(args or ())])


def production_unavailable() -> str | None:
    from bench._servers import production_unavailable as why

    return why()


def playtest_figures(report: dict) -> list[dict]:
    """manage.py playtest's report.json -> figures: its scorecard's overall figures that have a target
    (docs/playtest.md defines them). A report that already holds "figures" is taken as it is."""
    if "figures" in report:
        return report["figures"]
    try:
        from gameplay.playtest.scorecard import FIGURES
    except Exception:  # the scorecard's definitions moved or cannot be imported: every figure, untargeted
        FIGURES = ()
    overall = report.get("scorecard", {}).get("overall", {})
    specs = {spec.key: spec for spec in FIGURES}
    out = []
    for key, held in overall.items():
        value = held.get("value") if isinstance(held, dict) else held
        spec = specs.get(key)
        if not isinstance(value, (int, float)) or (specs and (spec is None or not spec.target)):
            continue
        rate = spec.unit == "rate" if spec else False
        out.append(bench_report.figure(spec.label if spec else key, 100 * value if rate else value,
                                       "%" if rate else (spec.unit if spec else ""), spec.target if spec else ""))
    return out


# The benches ./tankard bench knows, in the table's order. Keep the names: results and the table use them.
BENCHES: tuple[Bench, ...] = (
    Bench("llm_ttft", ("bench/llm_ttft.py",), ("--fake", "--turns", "150"), ("--fake", "--turns", "40")),
    Bench("look_latency", ("bench/look_latency.py",), (), ("--idle-seconds", "5", "--tokens", "30")),
    Bench("reply_cache", ("bench/reply_cache.py",), (), ("--quick",)),
    Bench("memory_campaign", ("bench/memory_campaign.py",), (), ("--turns", "1000")),
    Bench("load_embedded", ("bench/loadtest.py",),
          ("--serve", "embedded", "--steps", "50,100,200", "--step-seconds", "40", "--join-rate", "10"),
          ("--serve", "embedded", "--steps", "200", "--step-seconds", "20", "--join-rate", "20")),
    Bench("load_production", ("bench/loadtest.py",),
          ("--serve", "production", "--steps", "50,100,200", "--step-seconds", "40", "--join-rate", "10"),
          ("--serve", "production", "--steps", "200", "--step-seconds", "20", "--join-rate", "20"),
          needs=production_unavailable),
    Bench("embeddings", ("bench/embeddings_compare.py",), ("--only", "llama-minilm", "numpy-minilm"),
          ("--only", "llama-minilm", "numpy-minilm")),
    # --- Being written by other engineers: their entries are here so that the table lists them. Each
    # --- engineer sets the arguments (normal and --quick) of their own entry when the bench lands.
    Bench("llm_concurrency", ("bench/llm_concurrency.py",), (), ("--quick",)),  # issue 21: many talkers on the local model
    Bench("playtest", ("manage.py", "playtest"), ("--lines", "tests/playtest/lines.json", "--out", "{out}"),
          ("--lines", "tests/playtest/lines.json", "--out", "{out}", "--limit", "20"),
          report="{out}/report.json", adapter=playtest_figures),  # issue 17: under 10 min on the model; --quick: its first 20 lines
    Bench("shared_tavern", ("bench/shared_tavern.py",), (), ("--seconds", "20")),  # 50 players in one room, 1 and 2 processes
    Bench("free_text", ("bench/free_text.py",), (), ("--set", "heldout")),  # gestures and the narrator, on the local model
    Bench("deeds", ("bench/deeds.py",), (), ()),  # violence, theft, fire...: recognised, and harmless look-alikes left alone
)


# --- results -----------------------------------------------------------------------------------------
def results_check(data: object) -> dict:
    """`data` if it is a bench's results as bench/report.py describes them, else ValueError saying why."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    for key, kind in (("bench", str), ("figures", list), ("machine", str), ("command", str), ("date", str)):
        if not isinstance(data.get(key), kind):
            raise ValueError(f"{key!r} missing or not a {kind.__name__}")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", data["date"]):
        raise ValueError(f"date {data['date']!r} is not YYYY-MM-DD")
    if not data["figures"]:
        raise ValueError("no figures")
    number = (int, float, type(None))
    for fig in data["figures"]:
        if not (isinstance(fig, dict) and FIGURE_KEYS <= set(fig) and isinstance(fig.get("name"), str) and isinstance(fig.get("unit"), str)
                and isinstance(fig.get("target"), str) and isinstance(fig.get("value"), number)
                and isinstance(fig.get("baseline"), number) and fig.get("met") in (True, False, None)
                and not isinstance(fig.get("value"), bool)):
            raise ValueError(f"figure {fig!r} is not {{name, value, unit, target, met, baseline}}")
    return data


def results_load(directory: Path) -> dict[str, dict]:
    """Every bench's last results kept in `directory` (NAME.json), by name; other files there (such as
    bench/canon_probes.py's summary) are not the table's."""
    found = {}
    known = {b.name for b in BENCHES}
    for path in sorted(p for p in directory.glob("*.json") if p.stem in known):
        try:
            found[path.stem] = results_check(json.loads(path.read_text()))
        except ValueError as error:  # json.JSONDecodeError is one
            print(f"{path}: ignored ({error})", file=sys.stderr)
    return found


# --- the table ---------------------------------------------------------------------------------------
def number_text(value: float | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def current_text(fig: dict) -> str:
    """The figure, and where it has a baseline from the same run, as a ratio of it."""
    value, unit, baseline = fig["value"], fig["unit"], fig.get("baseline")
    shown = f"{number_text(value)} {unit}".strip()
    if baseline is None or value is None:
        return shown
    if unit.lower().startswith(("x", "×")):  # already a ratio
        return f"{shown} (baseline {number_text(baseline)})"
    ratio = f"{value / baseline:.2f}×" if baseline else "–"
    return f"{shown} = {ratio} baseline ({number_text(baseline)} {unit})".replace("  ", " ").replace(" )", ")")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(benches: tuple[Bench, ...], results: dict[str, dict], notes: dict[str, str] | None = None) -> str:
    """The Markdown table: every figure of every bench, or a row saying why a bench has none. `notes`
    says what happened to a bench this time when it did not run (its last figures stay)."""
    notes = notes or {}
    lines = ["| bench | figure | target | current | met | date | machine | command |",
             "|---|---|---|---|---|---|---|---|"]
    for bench in benches:
        data = results.get(bench.name)
        if data is None:
            why = notes.get(bench.name) or (f"not available: {bench.unavailable()}" if bench.unavailable()
                                            else f"not run yet: `./tankard bench {bench.name}`")
            lines.append(f"| {bench.name} | {_cell(why)} | | | | | | |")
            continue
        for index, fig in enumerate(data["figures"]):
            met = {True: "yes", False: "**no**", None: "–"}[fig["met"]]
            first = index == 0
            name = bench.name + (f" ({_cell(notes[bench.name])})" if first and bench.name in notes else "")
            lines.append("| " + " | ".join([
                name if first else "", _cell(fig["name"]), _cell(fig["target"] or "–"), _cell(current_text(fig)), met,
                data["date"] if first else "", _cell(data["machine"]) if first else "",
                f"`{_cell(data['command'])}`" if first else "",
            ]) + " |")
    return "\n".join(lines)


def doc_with_table(doc: str, rendered: str) -> str:
    """`doc` with the text between the table's markers replaced by `rendered`."""
    start, end = doc.find(TABLE_START), doc.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f"docs/benchmarks.md lacks the table's markers ({TABLE_START} ... {TABLE_END})")
    return doc[:start + len(TABLE_START)] + "\n" + rendered + "\n" + doc[end:]


# --- running -----------------------------------------------------------------------------------------
def run_one(bench: Bench, *, quick: bool, env: dict[str, str]) -> tuple[dict | None, str]:
    """Run one bench: (its results, "") or (None, why not)."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log_path = LOGS / f"{bench.name}.log"
    with tempfile.TemporaryDirectory(prefix=f"tankard-bench-{bench.name}-") as tmp:
        out, json_path = Path(tmp) / "out", Path(tmp) / "figures.json"
        argv = bench.argv(quick, out, json_path)
        print(f"{bench.name}: {bench.shown(quick)}  (log: {log_path.relative_to(ROOT)})", flush=True)
        started = time.monotonic()
        with log_path.open("w") as log:
            process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                code = process.wait(timeout=TIMEOUT["quick" if quick else "full"])
            except subprocess.TimeoutExpired:
                _stop(process)
                return None, f"failed: stopped after {TIMEOUT['quick' if quick else 'full'] // 60} min"
            except BaseException:
                _stop(process)
                raise
        took = time.monotonic() - started
        if code != 0:
            return None, f"failed: exit {code} after {took:.0f} s (var/bench/{bench.name}.log)"
        try:
            if bench.report:
                raw = json.loads(Path(bench.report.replace("{out}", str(out))).read_text())
                data = bench_report.results(bench.name, bench.adapter(raw))
                data["command"] = bench.shown(quick)
            else:
                data = json.loads(json_path.read_text())
            data = results_check(data)
            data["command"] = _without_json_path(data["command"])
            named = env.get("TANKARD_BENCH_MACHINE")
            if named and named not in data["machine"]:  # a bench that describes the machine its own way
                data["machine"] = f"{named}; {data['machine']}"
        except (OSError, ValueError) as error:
            return None, f"failed: its results cannot be read ({error})"
    met = [f["met"] for f in data["figures"]]
    print(f"  {took:.0f} s: {len(met)} figures, {met.count(True)} met, {met.count(False)} missed", flush=True)
    return data, ""


def _without_json_path(command: str) -> str:
    """The command as the table shows it: where this run's results went is no part of it."""
    return re.sub(r"\s--json(=|\s+)\S+", "", command)


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benches to run (default: all): {', '.join(b.name for b in BENCHES)}")
    parser.add_argument("--quick", action="store_true", help="each bench's short form: a few minutes in all")
    parser.add_argument("--machine", default=os.environ.get("TANKARD_BENCH_MACHINE", ""),
                        help='the machine as the table should name it, e.g. "2 cores, shared" (default: the core count)')
    parser.add_argument("--list", action="store_true", help="list the benches and whether each can run here")
    args = parser.parse_args(argv)
    known = {b.name: b for b in BENCHES}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.error(f"no bench named {', '.join(unknown)} (there are: {', '.join(known)})")
    if args.list:
        for bench in BENCHES:
            why = bench.unavailable()
            print(f"{bench.name:16} {'not available: ' + why if why else bench.shown(False)}")
        return 0
    env = {**os.environ, "TANKARD_BENCH_MACHINE": args.machine} if args.machine else dict(os.environ)
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    notes, failed = {}, 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    for bench in [known[n] for n in args.names] or list(BENCHES):
        why = bench.unavailable()
        if why:
            notes[bench.name] = f"not available: {why}"
        elif args.quick and bench.quick is None:
            notes[bench.name] = f"not run by --quick (no short form): `./tankard bench {bench.name}`"
        elif bench.needs and (reason := bench.needs()):
            notes[bench.name] = f"not run on {today}: {reason}"
        else:
            data, why = run_one(bench, quick=args.quick, env=env)
            if data is None:
                notes[bench.name], failed = f"{why} on {today}", failed + 1
            else:
                (RESULTS / f"{bench.name}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
                continue
        print(f"{bench.name}: {notes[bench.name]}", flush=True)
    DOC.write_text(doc_with_table(DOC.read_text(), table(BENCHES, results_load(RESULTS), notes)))
    print(f"table regenerated in {DOC.relative_to(ROOT)}; figures kept in {RESULTS.relative_to(ROOT)}/")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
