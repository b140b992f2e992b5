"""What every benchmark writes with `--json PATH`, for `./tankard bench` (bench/run.py) to put in the
table of docs/benchmarks.md:

    {"bench": "<name>",
     "figures": [{"name": str, "value": number, "unit": str, "target": "<text, e.g. '< 15 ms' or
                  '>= 0.9x raw'>", "met": true | false | null, "baseline": number | null}],
     "machine": str, "command": str, "date": "YYYY-MM-DD"}

`met` is null when the bench cannot tell (too noisy) or the figure has no target (its target is "").
`baseline` is the same quantity measured in the same run without the part under test (time to first
token straight to the model server, look latency with no reply streaming...), in the figure's unit;
the table states the figure as a ratio of it. A figure whose unit already is a ratio ("x raw") keeps
its value as it is, and the baseline is shown beside it.

`machine` comes from TANKARD_BENCH_MACHINE when it is set (the runner's `--machine`: say there whether
the machine was shared), else the core count, and in both cases the load average at the start.
"""
from __future__ import annotations

import datetime
import json
import os
import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_TARGET = re.compile(r"^\s*(<=|>=|≤|≥|<|>|=)?\s*(-?[0-9][0-9,]*(?:\.[0-9]+)?)")
_LOAD_AT_START = os.getloadavg()[0]  # benches import this module first thing


_FROM_TARGET = object()


def figure(name: str, value: float, unit: str, target: str = "", *, met: bool | None | object = _FROM_TARGET,
           baseline: float | None = None) -> dict:
    """One figure; `met` is worked out from `target` (see `target_met`) unless given (None: cannot tell)."""
    if met is _FROM_TARGET:
        met = target_met(value, target) if target else None
    return {"name": name, "value": _plain(value), "unit": unit, "target": target, "met": met,
            "baseline": None if baseline is None else _plain(baseline)}


def target_met(value: float, target: str) -> bool | None:
    """`value` against a target such as '< 50 ms', '>= 80 %', '≤ 1 %', '= 0' or '100%' (equal);
    None for a target it cannot read (a ratio to a baseline, a word)."""
    match = _TARGET.match(target)
    if match is None or value is None or value != value:
        return None
    op, bound = match.group(1) or "=", float(match.group(2).replace(",", ""))
    return {"<": value < bound, "<=": value <= bound, "≤": value <= bound, ">": value > bound,
            ">=": value >= bound, "≥": value >= bound, "=": value == bound}[op]


def machine() -> str:
    return f"{os.environ.get('TANKARD_BENCH_MACHINE') or f'{os.cpu_count()} cores{_cpu()}'}; load {_LOAD_AT_START:.1f}"


def _cpu() -> str:
    """", AMD EPYC, AVX2": the processor and its widest vector instructions, which move the local
    model's figures most (a one-token step took 6.6 ms on an AVX-512 machine, 10-11 ms on an AVX2
    one); "" where /proc/cpuinfo cannot be read."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else ""
    return "".join(f", {part}" for part in (name, vector) if part)


def command() -> str:
    """How this bench was started, without its `--json PATH` (where the results went)."""
    args, shown = sys.argv[1:], []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--json":
            skip = True
        elif not arg.startswith("--json="):
            shown.append(arg)
    script = os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)
    return " ".join(shlex.quote(a) for a in [".venv/bin/python", script, *shown])


def results(bench: str, figures: list[dict], *, machine_text: str | None = None) -> dict:
    return {"bench": bench, "figures": figures, "machine": machine_text or machine(), "command": command(),
            "date": datetime.datetime.now(datetime.timezone.utc).date().isoformat()}


def write(path: str | Path | None, bench: str, figures: list[dict], *, machine_text: str | None = None) -> None:
    """Write the results to `path` (nothing when it is None: the bench was run without --json)."""
    if path:
        Path(path).write_text(json.dumps(results(bench, figures, machine_text=machine_text), indent=1) + "\n")


def _plain(value: float) -> float | int | None:
    """Rounded for the table; integers stay integers; not a number (nothing measured) is null."""
    if isinstance(value, bool) or isinstance(value, int):
        return int(value)
    value = float(value)
    return None if value != value else round(value, 4)
