"""Prometheus metrics of NPC replies and model calls, and the helpers the reply path calls.

Every metric lives in the process's default registry and is exposed at /metrics; the staff
dashboard reads the same registry. Label values are clamped to known sets (sources, cache levels,
error kinds) so a caller's typo cannot create unbounded series; `npc` is an NPC slug, a handful
per world.
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from llm import gate
from llm.errors import KINDS as ERROR_KINDS

SOURCES = ("llm", "cache", "pregen", "fallback")
CACHE_LEVELS = ("memory", "redis", "db")
CALL_OUTCOMES = ("ok", "error", "cancelled")
OTHER = "other"

# Seconds: a local 135M model answers its first token in well under a second, a busy remote in many.
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0)
REPLY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0)

REPLY_TTFT_SECONDS = Histogram(
    "tankard_reply_ttft_seconds", "Time from the player's line to the first token of the NPC's reply.",
    ["source"], buckets=TTFT_BUCKETS,
)
REPLY_SECONDS = Histogram(
    "tankard_reply_seconds", "Time from the player's line to the end of the NPC's reply.",
    ["source"], buckets=REPLY_BUCKETS,
)
REPLIES = Counter("tankard_replies", "NPC replies sent, by NPC and by where the words came from.", ["npc", "source"])
REPLIES_FLAGGED = Counter("tankard_replies_flagged", "NPC replies flagged as bad (by players or staff).", ["npc"])
TOKENS_IN = Counter("tankard_llm_tokens_in", "Prompt tokens sent to the model.", ["npc"])
TOKENS_OUT = Counter("tankard_llm_tokens_out", "Completion tokens received from the model.", ["npc"])
CACHE_HITS = Counter("tankard_reply_cache_hits", "Reply cache lookups that found a reply, by cache level.", ["level"])
CACHE_MISSES = Counter("tankard_reply_cache_misses", "Reply cache lookups that found nothing at any level.")
LLM_CALLS = Counter("tankard_llm_calls", "Requests made to the model backend, by outcome.", ["outcome"])
LLM_ERRORS = Counter("tankard_llm_errors", "Failed model requests, by kind (see llm/errors.py).", ["kind"])
LLM_QUEUE_DEPTH = Gauge("tankard_llm_queue_depth", "Model requests waiting for a slot in this process.")
LLM_IN_FLIGHT = Gauge("tankard_llm_in_flight", "Model requests running in this process.")
LLM_QUEUE_DEPTH.set_function(gate.queue_depth)
LLM_IN_FLIGHT.set_function(gate.in_flight)


def _known(value: str, allowed: tuple[str, ...]) -> str:
    return value if value in allowed else OTHER


def reply_observed(
    *, npc: str, source: str, ttft_s: float | None, total_s: float, tokens_in: int = 0, tokens_out: int = 0
) -> None:
    """One NPC reply reached the player. `ttft_s` is None when nothing was streamed before the end."""
    source = _known(source, SOURCES)
    REPLIES.labels(npc=npc, source=source).inc()
    if ttft_s is not None:
        REPLY_TTFT_SECONDS.labels(source=source).observe(max(ttft_s, 0.0))
    REPLY_SECONDS.labels(source=source).observe(max(total_s, 0.0))
    if tokens_in > 0:
        TOKENS_IN.labels(npc=npc).inc(tokens_in)
    if tokens_out > 0:
        TOKENS_OUT.labels(npc=npc).inc(tokens_out)


def tokens_out_count(*, npc: str) -> int:
    """Completion tokens received for `npc`'s replies in this process so far (the playtest reads it
    around each line it plays, one at a time, for the tokens of that reply)."""
    for metric in TOKENS_OUT.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels.get("npc") == npc:
                return int(sample.value)
    return 0


def reply_flag_observed(*, npc: str) -> None:
    """A reply of `npc` was flagged."""
    REPLIES_FLAGGED.labels(npc=npc).inc()


def cache_lookup_observed(*, level: str | None) -> None:
    """A reply cache lookup: the level that answered ("memory", "redis", "db"), or None for a miss."""
    if level is None:
        CACHE_MISSES.inc()
    else:
        CACHE_HITS.labels(level=_known(level, CACHE_LEVELS)).inc()


def llm_call_observed(*, outcome: str) -> None:
    """One request to the model ended: "ok", "error" or "cancelled" (each retry is a request)."""
    LLM_CALLS.labels(outcome=_known(outcome, CALL_OUTCOMES)).inc()


def llm_error_observed(*, kind: str) -> None:
    """A model request failed; `kind` is an `LLMError.kind` ("timeout", "connect", ...)."""
    LLM_ERRORS.labels(kind=_known(kind, ERROR_KINDS)).inc()
