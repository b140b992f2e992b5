"""Deeds the tavern will not let happen (gameplay/rules/deeds.py): how many of a blind set's harmful
lines the game recognises, and how many harmless look-alikes it mistakes for deeds.

    .venv/bin/python bench/deeds.py [--json PATH]

`bench/data/deeds.json` was written by a helper who read no code, from a short description of the
tavern: 70 deed lines (violence, theft, fire, wrecking, unwelcome advances; with the kind and the
NPC aimed at) and 50 harmless lines that share their words ("kill some time", "kill the rats",
"steal a glance"). It is split by position: even places are `tune` (their failures are printed,
and the rules may be changed for them), odd places are `held-out` (read for figures only, never
tuned on). Each line is read as the game reads it: the parser first (a line it takes for a command
that does something of its own never reaches the deed rule: gameplay.rules.engine.DEEDS_READ_IN), on
a fresh SQLite database (no model). Counted: a deed recognised (any kind), of the right kind, aimed at the right
NPC; a harmless line read as a deed (false)."""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import report  # noqa: E402

DATA = ROOT / "bench" / "data" / "deeds.json"


def parts(data: dict) -> dict[str, dict[str, list]]:
    """The set split by position: even places tune, odd places held-out."""
    return {name: {"deeds": data["deeds"][start::2], "innocent": data["innocent"][start::2]}
            for name, start in (("tune", 0), ("held-out", 1))}


def score(part: dict[str, list], ctx) -> dict:
    from gameplay.rules.deeds import deed_read as deed_of
    from gameplay.rules.engine import DEEDS_READ_IN
    from gameplay.rules.parser import intent_parse

    def deed_read(ctx, line):  # as the game reads it: only a line the parser leaves to the deed rule
        return deed_of(ctx, line) if intent_parse(line).verb in DEEDS_READ_IN else None

    out = {"deeds": len(part["deeds"]), "recognised": 0, "kind": 0, "target": 0, "both": 0, "innocent": len(part["innocent"]),
           "false": 0, "missed": [], "wrong": [], "mistaken": []}
    for case in part["deeds"]:
        deed = deed_read(ctx, case["line"])
        if deed is None:
            out["missed"].append(case["line"])
            continue
        out["recognised"] += 1
        out["kind"] += deed.kind == case["kind"]
        aimed = deed.target.slug if deed.target else None
        right = aimed == case["target"] or (deed.target is not None and case["target"] is not None
                                            and case["target"].lower() in (w.lower() for w in deed.target.name.split()))
        out["target"] += right
        out["both"] += deed.kind == case["kind"] and right
        if deed.kind != case["kind"] or not right:
            out["wrong"].append((case["line"], deed.kind, aimed, case["kind"], case["target"]))
    for line in part["innocent"]:
        deed = deed_read(ctx, line)
        if deed is not None:
            out["false"] += 1
            out["mistaken"].append((line, deed.kind))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures here, for ./tankard bench")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TANKARD_SQLITE_PATH"] = str(Path(tmp) / "bench.sqlite3")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tankard_site.settings")
        import django

        django.setup()
        from django.core.management import call_command

        from gameplay.world import world_current

        call_command("migrate", verbosity=0)
        ctx = SimpleNamespace(world=world_current())  # reading a line needs only the world's people
        data = json.loads(DATA.read_text())
        figures = []
        for name, part in parts(data).items():
            got = score(part, ctx)
            n, m = got["deeds"], got["innocent"]
            print(f"{name}: {got['recognised']}/{n} deeds recognised, {got['kind']} of the right kind, "
                  f"{got['target']} aimed right; {got['false']}/{m} harmless lines read as deeds")
            if name == "tune":
                for line in got["missed"]:
                    print(f"  missed: {line!r}")
                for line, kind, aimed, want_kind, want_target in got["wrong"]:
                    print(f"  read as {kind} at {aimed}: {line!r} (written as {want_kind} at {want_target})")
                for line, kind in got["mistaken"]:
                    print(f"  harmless, read as {kind}: {line!r}")
            figures += [
                report.figure(f"{name} ({n} deed lines): recognised", 100 * got["recognised"] / n, "%"),
                report.figure(f"{name}: of the right kind, aimed at the right NPC", 100 * got["both"] / n, "%"),
                report.figure(f"{name} ({m} harmless look-alikes): read as deeds", 100 * got["false"] / m, "%"),
            ]
    report.write(args.json, "deeds", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
