"""Persona regression replay: a golden run kept on disk (its lines, transcript and report), and the
comparison of a new run of the same lines with it: every figure side by side, the lines whose
verdict changed, and whether a figure with a target got worse beyond the tolerance. Plain functions
over plain values (the command plays; this only compares)."""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

GOLDEN_FILES = ("lines.json", "transcript.jsonl", "report.json", "report.md")


def golden_dir(name: str) -> Path:
    """Where the golden run `name` lives: `var/playtest/golden/<name>/`, or `name` itself when it is
    a path (it holds a `/`)."""
    if "/" in name or name.startswith("."):
        return Path(name)
    return Path(settings.BASE_DIR) / "var" / "playtest" / "golden" / name


def golden_store(target: Path, *, lines: list, out: Path) -> None:
    """Keep a run in `out` (transcript, report) and the lines it played as the golden run `target`."""
    target.mkdir(parents=True, exist_ok=True)
    (target / "lines.json").write_text(json.dumps(lines, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for name in GOLDEN_FILES[1:]:
        if (out / name).resolve() != (target / name).resolve():
            shutil.copyfile(out / name, target / name)


def golden_missing(target: Path) -> list[str]:
    return [name for name in GOLDEN_FILES[:3] if not (target / name).is_file()]


@dataclass(frozen=True)
class FigureChange:
    key: str
    label: str
    unit: str
    target: str
    golden: float | None
    now: float | None
    change: float | None  # in points for rates (now - golden, x100), else in the figure's unit
    worse: bool  # got worse beyond the tolerance
    regressed: bool  # worse, and the figure has a target: the replay fails


@dataclass(frozen=True)
class VerdictChange:
    id: str
    figure: str
    better: bool
    text: str
    golden_reply: str
    now_reply: str


def figures_compare(golden: dict, now: dict, *, specs, tolerance: float = 2.0,
                    timing_tolerance: float = 25.0) -> list[FigureChange]:
    """Every figure of the two scorecards' overall part. A rate is worse when it moved the wrong way
    by more than `tolerance` percentage points; another figure (a timing) when it moved by more than
    `timing_tolerance` percent of the golden value. A worse figure with a target is a regression; a
    timing only when it now misses its target too (timings vary from run to run on a shared machine)."""
    changes = []
    for spec in specs:
        before = _value(golden, spec.key)
        after = _value(now, spec.key)
        change = None
        worse = regressed = False
        if before is not None and after is not None:
            rate = spec.unit == "rate"
            change = (after - before) * (100.0 if rate else 1.0)
            allowed = tolerance if rate else abs(before) * timing_tolerance / 100
            worse = (-change if spec.better == "higher" else change) > allowed + 1e-9
            regressed = worse and bool(spec.target) and (rate or target_met(spec.target, after, better=spec.better) is False)
        changes.append(FigureChange(spec.key, spec.label, spec.unit, spec.target, before, after, change, worse, regressed))
    return changes


def target_met(target: str, value: float, *, better: str = "lower") -> bool | None:
    """Whether `value`, in the target's own unit (percent for a rate), meets a target such as
    "< 1500 ms", ">= 95 %" or "0 %" (a bare number is a bound on the side `better` says); None when
    there is no target."""
    found = re.match(r"\s*(>=|<=|<|>|=)?\s*([\d.]+)", target)
    if not found:
        return None
    bound = float(found.group(2))
    op = found.group(1) or (">=" if better == "higher" else "<=")
    return {">=": value >= bound, "<=": value <= bound, "<": value < bound, ">": value > bound, "=": value == bound}[op]


def _value(card: dict, key: str) -> float | None:
    held = card.get("overall", {}).get(key)
    value = held.get("value") if isinstance(held, dict) else held
    return float(value) if isinstance(value, (int, float)) else None


def verdicts_changed(golden_card: dict, now_card: dict, golden_rows: list[dict], now_rows: list[dict]) -> list[VerdictChange]:
    """The lines whose verdict on a figure differs between the runs (True is a pass), with both replies."""
    before_rows = {r["id"]: r for r in golden_rows}
    after_rows = {r["id"]: r for r in now_rows}
    changes = []
    before_verdicts = golden_card.get("verdicts", {})
    for line_id, after in now_card.get("verdicts", {}).items():
        before = before_verdicts.get(line_id, {})
        for figure, passed in after.items():
            if figure in before and before[figure] != passed:
                row = after_rows.get(line_id, {})
                changes.append(VerdictChange(line_id, figure, bool(passed), row.get("text", ""),
                                             before_rows.get(line_id, {}).get("reply", ""), row.get("reply", "")))
    return changes


def replay_regressed(changes: list[FigureChange]) -> bool:
    return any(c.regressed for c in changes)


def _shown(unit: str, value: float | None) -> str:
    if value is None:
        return "–"
    if unit == "rate":
        return f"{100 * value:.1f}%"
    return f"{value:.1f} {unit}" if unit not in ("count",) else f"{value:g}"


def _shown_change(change: FigureChange) -> str:
    if change.change is None:
        return "–"
    unit = "pts" if change.unit == "rate" else change.unit
    mark = "  WORSE" if change.regressed else ("  worse" if change.worse else "")
    return f"{change.change:+.1f} {unit}{mark}"


def replay_table(changes: list[FigureChange], verdicts: list[VerdictChange]) -> str:
    """The side-by-side table of the figures, then the lines whose verdict changed."""
    rows = [("figure", "target", "golden", "now", "change")]
    rows += [(c.label, c.target, _shown(c.unit, c.golden), _shown(c.unit, c.now), _shown_change(c)) for c in changes]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if verdicts:
        lines += ["", "Lines whose verdict changed:"]
        for v in verdicts:
            lines += [f"  {v.id} [{v.figure}] {'better' if v.better else 'WORSE'}: {v.text!r}",
                      f"      golden: {v.golden_reply!r}", f"      now:    {v.now_reply!r}"]
    else:
        lines += ["", "No line's verdict changed."]
    return "\n".join(lines) + "\n"


def replay_summary(changes: list[FigureChange], verdicts: list[VerdictChange]) -> dict[str, Any]:
    """The comparison as JSON (kept as replay.json beside the new run's report)."""
    return {"figures": [c.__dict__ for c in changes], "verdicts": [v.__dict__ for v in verdicts],
            "regressed": replay_regressed(changes)}
