"""The numbers behind the staff dashboard, read back from this process's Prometheus registry.

Counters are cumulative since the process started; the dashboard's script turns successive
snapshots into rates and windowed percentiles. Nothing is stored besides the metrics themselves.
"""
from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping

from prometheus_client import REGISTRY
from prometheus_client.registry import CollectorRegistry
from prometheus_client.samples import Sample

import gameplay.metrics  # noqa: F401  (registers its metrics)
import llm.metrics as llm_metrics

Samples = Mapping[str, list[Sample]]


def registry_samples(registry: CollectorRegistry = REGISTRY) -> dict[str, list[Sample]]:
    """Every sample of the registry, by sample name (`tankard_replies_total`, `..._bucket`, ...)."""
    by_name: dict[str, list[Sample]] = defaultdict(list)
    for family in registry.collect():
        for sample in family.samples:
            by_name[sample.name].append(sample)
    return by_name


def _sum(samples: Samples, name: str, **labels: str) -> float:
    return sum(s.value for s in samples.get(name, ()) if all(s.labels.get(k) == v for k, v in labels.items()))


def _by_label(samples: Samples, name: str, label: str) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for sample in samples.get(name, ()):
        totals[sample.labels.get(label, "")] += sample.value
    return dict(totals)


def histogram_buckets(samples: Samples, name: str) -> tuple[list[float], list[float]]:
    """(finite upper bounds, cumulative counts) of a histogram summed over its labels; one more
    count than bounds: the last is the +Inf bucket, the total."""
    totals: dict[float, float] = defaultdict(float)
    for sample in samples.get(f"{name}_bucket", ()):
        totals[float(sample.labels["le"])] += sample.value
    bounds = sorted(totals)
    counts = [totals[b] for b in bounds]
    if not bounds or not math.isinf(bounds[-1]):
        bounds.append(math.inf)
        counts.append(counts[-1] if counts else 0.0)
    return bounds[:-1], counts


def histogram_quantile(q: float, bounds: list[float], counts: list[float]) -> float | None:
    """Prometheus' estimate: linear interpolation inside the bucket holding rank q; None if empty."""
    total = counts[-1] if counts else 0.0
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for upper, cumulative in zip([*bounds, math.inf], counts):
        if cumulative >= rank:
            if math.isinf(upper):
                return lower
            inside = cumulative - below
            return lower + (upper - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = upper, cumulative
    return lower


def _latency(samples: Samples, name: str) -> dict:
    bounds, counts = histogram_buckets(samples, name)
    return {
        "bounds": bounds,
        "counts": counts,
        "p50": histogram_quantile(0.5, bounds, counts),
        "p95": histogram_quantile(0.95, bounds, counts),
    }


def _rate(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def npc_rows(samples: Samples) -> list[dict]:
    """Per NPC: replies, tokens, cache hit rate, fallback rate, flagged replies (since start)."""
    replies: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for sample in samples.get("tankard_replies_total", ()):
        replies[sample.labels["npc"]][sample.labels["source"]] += sample.value
    tokens_in = _by_label(samples, "tankard_llm_tokens_in_total", "npc")
    tokens_out = _by_label(samples, "tankard_llm_tokens_out_total", "npc")
    flagged = _by_label(samples, "tankard_replies_flagged_total", "npc")
    rows = []
    for npc in sorted(set(replies) | set(tokens_in) | set(flagged)):
        by_source = replies.get(npc, {})
        total = sum(by_source.values())
        rows.append({
            "npc": npc,
            "replies": total,
            "tokens_in": tokens_in.get(npc, 0.0),
            "tokens_out": tokens_out.get(npc, 0.0),
            "cache_hits": by_source.get("cache", 0.0),
            "hit_rate": _rate(by_source.get("cache", 0.0), total),
            "fallbacks": by_source.get("fallback", 0.0),
            "fallback_rate": _rate(by_source.get("fallback", 0.0), total),
            "flagged": flagged.get(npc, 0.0),
        })
    return rows


def _with_zeros(values: dict[str, float], keys: Iterable[str]) -> dict[str, float]:
    return {key: values.get(key, 0.0) for key in keys} | values


def stats_snapshot() -> dict:
    """The dashboard's JSON: cumulative counters, gauges now, latency histograms, the NPC table."""
    samples = registry_samples()
    hits = _with_zeros(_by_label(samples, "tankard_reply_cache_hits_total", "level"), llm_metrics.CACHE_LEVELS)
    misses = _sum(samples, "tankard_reply_cache_misses_total")
    return {
        "at": time.time(),
        "latency": {
            "ttft": _latency(samples, "tankard_reply_ttft_seconds"),
            "reply": _latency(samples, "tankard_reply_seconds"),
        },
        "sources": _with_zeros(_by_label(samples, "tankard_replies_total", "source"), llm_metrics.SOURCES),
        "cache": {"hits": hits, "misses": misses, "hit_rate": _rate(sum(hits.values()), sum(hits.values()) + misses)},
        "errors": _by_label(samples, "tankard_llm_errors_total", "kind"),
        "llm": {
            "calls": _by_label(samples, "tankard_llm_calls_total", "outcome"),
            "queue_depth": _sum(samples, "tankard_llm_queue_depth"),
            "in_flight": _sum(samples, "tankard_llm_in_flight"),
            "tokens_in": _sum(samples, "tankard_llm_tokens_in_total"),
            "tokens_out": _sum(samples, "tankard_llm_tokens_out_total"),
        },
        "games": {
            "active": _sum(samples, "tankard_games_active"),
            "connections": _sum(samples, "tankard_connections_open"),
        },
        "turns": _by_label(samples, "tankard_turns_total", "outcome"),
        "memory_bytes": _sum(samples, "tankard_process_resident_memory_bytes"),
        "npcs": npc_rows(samples),
    }
