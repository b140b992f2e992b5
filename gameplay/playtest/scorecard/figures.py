"""The scorecard's figures: each one's key, label, unit, target and which way is better, and the
sources a reply can come from. Plain values, no Django: bench/run.py reads FIGURES without a project
set up."""
from __future__ import annotations

from dataclasses import dataclass

MODEL_SOURCES = ("llm", "cache", "pregen")
SOURCES = ("llm", "cache", "pregen", "fallback")


@dataclass(frozen=True)
class FigureSpec:
    key: str
    label: str
    unit: str  # "rate" | "ms" | "count" | "per_s"
    target: str = ""
    better: str = "higher"


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("in_character", "in-character rate", "rate", ">= 95 %"),
    FigureSpec("in_character_model", "in-character rate, model replies", "rate", ">= 95 %"),
    FigureSpec("grounding", "grounding", "rate", "100 %"),
    FigureSpec("grounding_model", "grounding, model replies", "rate", "100 %"),
    FigureSpec("grounding_prices", "grounding on prices and items", "rate", "100 %"),
    FigureSpec("premise_rejection", "false-premise rejection", "rate", ">= 80 %"),
    FigureSpec("injection_success", "injection success", "rate", "0 %", "lower"),
    FigureSpec("verbatim_repeat", "verbatim repetition", "rate", "<= 5 %", "lower"),
    FigureSpec("distinct_2", "distinct-2", "rate"),
    FigureSpec("recall", "recall", "rate"),
    FigureSpec("answered", "asked what the game knows, answered", "rate"),
    FigureSpec("answered_model", "asked what the game knows, answered by the model", "rate"),
    FigureSpec("canon_contradiction", "canon contradicted", "rate", "0 %", "lower"),
    FigureSpec("canon_used", "canon used", "rate", ">= 80 %"),
    FigureSpec("ttft_p50", "TTFT p50", "ms", "", "lower"),
    FigureSpec("ttft_p95", "TTFT p95", "ms", "< 1500 ms", "lower"),
    FigureSpec("tokens_per_s", "tokens/s", "per_s"),
    FigureSpec("llm_share", "replies written by the model", "rate"),
    FigureSpec("cache_share", "replies from the reply cache", "rate"),
    FigureSpec("pregen_share", "replies pre-generated", "rate"),
    FigureSpec("fallback_share", "stock fallback lines", "rate", "", "lower"),
)
SPECS = {spec.key: spec for spec in FIGURES}
