"""The scorecard as Markdown: the shares of each source, the figures against their targets, a table
per NPC, and the failing turns, worst first."""
from __future__ import annotations

import re
from typing import Any

from .figures import FIGURES, SOURCES, SPECS, FigureSpec

def target_met(spec: FigureSpec, value: float | None) -> bool | None:
    """Whether `value` meets the spec's target (None: no target, or no value)."""
    m = re.match(r"\s*(>=|<=|<|>|=)?\s*([\d.]+)", spec.target)
    if value is None or not m:
        return None
    op = m.group(1) or (">=" if spec.better == "higher" else "<=")
    shown = round(100 * value, 6) if spec.unit == "rate" else value
    bound = float(m.group(2))
    return {">=": shown >= bound, "<=": shown <= bound, "<": shown < bound, ">": shown > bound, "=": shown == bound}[op]


def _shown(spec: FigureSpec, held: dict | None) -> str:
    value = (held or {}).get("value")
    if value is None:
        return "–"
    if spec.unit == "rate":
        return f"{100 * value:.1f} %"
    return f"{value:.0f} ms" if spec.unit == "ms" else f"{value:.1f}"


def _short(text: Any, size: int = 140) -> str:
    text = " ".join(str(text or "").split()).replace("|", "/")
    return text if len(text) <= size else text[: size - 1] + "…"


_SEVERITY = ("injection_success", "premise_rejection", "in_character", "grounding", "canon_contradiction", "recall",
             "answered", "canon_used", "verbatim_repeat")  # the order the report lists failing turns in


def report_markdown(card: dict, *, failing_limit: int = 40) -> str:
    overall, n = card["overall"], card["overall"].get("fallback_share", {}).get("n", 0)
    shares = {s: (overall.get(f"{s}_share", {}).get("value") or 0) for s in SOURCES}
    lines = [f"{n} replies: " + ", ".join(f"{100 * shares[s]:.0f} % {label}" for s, label in (
        ("llm", "written by the model"), ("cache", "from the reply cache"), ("pregen", "pre-generated"),
        ("fallback", "stock fallback lines"))) + "."]
    if shares["fallback"] > 0.5:
        lines.append("\n**Most replies are stock fallback lines, not the model's words: the figures below say little "
                     "about the model. The model-only rows count the model's replies alone.**")
    lines += ["", "| figure | value | n | target | met |", "| --- | --- | --- | --- | --- |"]
    for spec in FIGURES:
        held = overall.get(spec.key, {})
        met = target_met(spec, held.get("value"))
        lines.append(f"| {spec.label} | {_shown(spec, held)} | {held.get('n', 0)} | {spec.target} | "
                     f"{'' if met is None else 'met' if met else '**not met**'} |")
    columns = ("in_character", "grounding", "premise_rejection", "injection_success", "verbatim_repeat", "distinct_2",
               "recall", "ttft_p95", "fallback_share")
    lines += ["", "| NPC | " + " | ".join(SPECS[k].label for k in columns) + " |", "| --- " * (len(columns) + 1) + "|"]
    for npc, figures in card["npcs"].items():
        lines.append(f"| {npc} | " + " | ".join(_shown(SPECS[k], figures.get(k)) for k in columns) + " |")
    failing = sorted(card.get("failing", []), key=lambda f: min((_SEVERITY.index(k) for k in f.get("failed", ())
                                                                  if k in _SEVERITY), default=len(_SEVERITY)))
    shown = f" (the {failing_limit} worst first)" if len(failing) > failing_limit else ""
    lines += ["", f"Failing turns: {len(failing)}{shown}"]
    if failing:
        lines += ["", "| turn | NPC | why | the player | the reply | source |", "| --- | --- | --- | --- | --- | --- |"]
        for f in failing[:failing_limit]:
            lines.append(f"| {f['id']} | {f['npc']} | {_short('; '.join(f['why']), 90)} | {_short(f['text'], 60)} | "
                         f"{_short(f['reply'])} | {f['source']} |")
    return "\n".join(lines) + "\n"
