"""all-MiniLM-L6-v2 run by llama.cpp, through the ``llama-cpp-python`` package of the ``local``
extra (the package that serves the local chat model too).

The weights are the same package's: converted once, with the ``gguf`` package, to a GGUF file
whose matrices are float16 (cosines within 1e-4 of the numpy engine's vectors, tested),
kept in the game's file cache and rewritten only when the model or this converter changes. Token
ids come from the same tokenizer as the numpy engine's; llama.cpp only runs the encoder and the
mean pooling. On the reference machine a short line takes about 5.7 ms instead of numpy's 9, and
a pass runs without holding the GIL (docs/benchmarks.md, "Embeddings"). One context, so passes take
turns: a second context would cost another 80 MB of memory and would be made in the middle of a
player's line (47 ms); lines are short, and a process's background embedding waits while a line
is being answered.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from .bert import BATCH_SIZE, BertText, Weights

#: Part of the cached file's name: a change to the conversion below writes a new file.
CONVERTER_VERSION = 2  # 2: the encoder's matrices float16 (were bfloat16: 20-25 % slower a line here)


class LlamaBert(BertText):
    """The engine: ``BertText``'s tokenising and batching, llama.cpp's forward pass (one at a time)."""

    ENGINE = "llama"

    def __init__(self, model_dir: Path, cache_dir: Path) -> None:
        import llama_cpp

        super().__init__(model_dir)
        # One batch must hold a whole text at the model's limit, and no more: the attention's
        # working memory grows with the square of a batch's tokens.
        self.MAX_BATCH_TOKENS = self.max_seq_length
        self.path = gguf_file(model_dir, cache_dir, self.config)
        self._encoder = _Encoder(llama_cpp, self.path, tokens=self.max_seq_length)
        # Closed with the engine, or at exit before the interpreter tears down the modules that
        # llama-cpp-python's own finaliser needs (else it prints a TypeError at every exit).
        weakref.finalize(self, self._encoder.close)
        self.embed(["a"])  # a pass now: a llama-cpp-python that cannot run it fails the load, not a player's line

    def _forward(self, ids: np.ndarray, mask: np.ndarray, type_ids: np.ndarray) -> np.ndarray:
        """Each row's tokens as one sequence of one llama.cpp batch (no padding is run); the
        model's mean pooling per sequence, L2-normalised. Texts are single sentences: every token
        is of type 0, which is what llama.cpp's BERT uses."""
        lengths = mask.sum(axis=1)
        out = self._encoder.pooled([ids[row, :length].tolist() for row, length in enumerate(lengths)], self.dim)
        norms = np.maximum(np.linalg.norm(out, axis=1, keepdims=True), np.float32(1e-12))
        return out / norms


class _Encoder:
    """One llama.cpp model, context and batch, made and used through llama-cpp-python's public
    low-level API (the ``llama_cpp`` module's C functions), not the private parts of its ``Llama``
    class, which change from one release to the next. Passes and closing take one lock: a process
    exiting while a background thread embeds closes the context after that pass, never during it
    (freeing it mid-pass ended the process with SIGSEGV)."""

    def __init__(self, llama_cpp: Any, path: Path, *, tokens: int) -> None:
        self._lock = threading.Lock()
        self._api = api = llama_cpp
        # llama.cpp's own log goes through this logger; at ERROR it stays quiet, as Llama(verbose=False) keeps it.
        logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
        api.llama_backend_init()
        model_params = api.llama_model_default_params()
        model_params.use_mlock = False
        self._model = api.llama_model_load_from_file(str(path).encode(), model_params)
        if not self._model:
            raise RuntimeError(f"llama.cpp could not load {path.name}")
        params = api.llama_context_default_params()
        params.n_ctx = params.n_batch = params.n_ubatch = tokens
        params.n_seq_max = BATCH_SIZE  # a batch's texts, each its own sequence (llama.cpp allows 64)
        params.n_threads = params.n_threads_batch = 1
        params.embeddings = True
        params.pooling_type = api.LLAMA_POOLING_TYPE_MEAN
        self._context = api.llama_init_from_model(self._model, params)
        if not self._context:
            api.llama_model_free(self._model)
            raise RuntimeError(f"llama.cpp could not make a context for {path.name}")
        self._batch = api.llama_batch_init(tokens, 0, tokens)
        self._tokens = tokens

    def pooled(self, rows: list[list[int]], dim: int) -> np.ndarray:
        """Each row as one sequence of one batch (no padding is run); the model's mean pooling per
        sequence. The GGUF's BERT reads every token as type 0, as single sentences are."""
        if sum(map(len, rows)) > self._tokens or len(rows) > BATCH_SIZE:
            raise ValueError("more tokens or texts than one batch holds")
        with self._lock:
            if not self._context:
                raise RuntimeError("the embedding model is closed")
            return self._pass(rows, dim)

    def _pass(self, rows: list[list[int]], dim: int) -> np.ndarray:
        api, batch = self._api, self._batch
        n = 0
        for seq, row in enumerate(rows):
            for position, token in enumerate(row):
                batch.token[n], batch.pos[n], batch.n_seq_id[n], batch.logits[n] = token, position, 1, True
                batch.seq_id[n][0] = seq
                n += 1
        batch.n_tokens = n
        memory = api.llama_get_memory(self._context)
        if memory:  # an encoder-only model keeps no cache between passes
            api.llama_memory_clear(memory, True)
        if api.llama_encode(self._context, batch) != 0:  # ctypes: the GIL is released for the whole pass
            raise RuntimeError("llama.cpp could not run the embedding pass")
        out = np.empty((len(rows), dim), dtype=np.float32)
        for seq in range(len(rows)):
            out[seq] = np.ctypeslib.as_array(api.llama_get_embeddings_seq(self._context, seq), shape=(dim,))
        return out

    def close(self) -> None:
        api = self._api
        with self._lock:
            if self._context:
                api.llama_batch_free(self._batch)
                api.llama_free(self._context)
                api.llama_model_free(self._model)
                self._context = self._model = None


def gguf_file(model_dir: Path, cache_dir: Path, config: dict) -> Path:
    """The converted model in `cache_dir`, written first when missing (atomically: processes
    starting together each write their own temporary file and the last rename wins)."""
    weights = Weights(model_dir / "model.safetensors")
    source = json.dumps([CONVERTER_VERSION, config, weights.header, (model_dir / "vocab.txt").stat().st_size],
                        sort_keys=True)
    path = cache_dir / f"all-minilm-l6-v2-{hashlib.sha1(source.encode()).hexdigest()[:16]}.gguf"
    if not path.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=cache_dir, suffix=".gguf.tmp")
        os.close(handle)
        try:
            gguf_write(model_dir, weights, config, Path(temporary))
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    return path


def gguf_write(model_dir: Path, weights: Weights, config: dict, path: Path) -> None:
    """What llama.cpp's own converter (convert_hf_to_gguf.py, BertModel) writes for this model,
    with the matrices (the encoder's and the embedding tables) as float16: on this project's
    machine a line took 6.7-7.0 ms against 8.3-9.3 with bfloat16 encoder matrices, with the same
    vectors (cosine 0.99999 between the two)."""
    import gguf

    writer = gguf.GGUFWriter(str(path), "bert")
    writer.add_context_length(int(config["max_position_embeddings"]))
    writer.add_embedding_length(int(config["hidden_size"]))
    writer.add_feed_forward_length(int(config["intermediate_size"]))
    writer.add_block_count(int(config["num_hidden_layers"]))
    writer.add_head_count(int(config["num_attention_heads"]))
    writer.add_layer_norm_eps(float(config.get("layer_norm_eps", 1e-12)))
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType.MEAN)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    _vocabulary_write(writer, model_dir, int(config.get("type_vocab_size", 2)))
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, int(config["num_hidden_layers"]))
    for name in sorted(weights.names()):
        short = name.removeprefix("bert.")
        if short in ("embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"):
            continue  # the pooler is not part of a sentence embedding
        target = names.get_name(short, try_suffixes=(".weight", ".bias"))
        if target is None:
            raise RuntimeError(f"no GGUF name for tensor {name}")
        tensor = np.ascontiguousarray(weights.read(name))
        if tensor.ndim == 2 and not target.startswith("token_types"):
            writer.add_tensor(target, tensor.astype(np.float16))
        else:
            writer.add_tensor(target, tensor)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


_SPECIAL = {"[PAD]": "pad", "[UNK]": "unk", "[CLS]": "bos", "[SEP]": "sep", "[MASK]": "mask"}


def _vocabulary_write(writer: Any, model_dir: Path, token_types: int) -> None:
    """The WordPiece vocabulary as llama.cpp reads it (a word's first piece marked with "▁"). The
    game hands llama.cpp token ids, so its own tokenizer is never used; the file must still be
    complete."""
    import gguf

    vocab = (model_dir / "vocab.txt").read_text(encoding="utf-8").splitlines()
    tokens, kinds = [], []
    for token in vocab:
        if token in _SPECIAL:
            tokens.append(token)
            kinds.append(gguf.TokenType.UNKNOWN if token == "[UNK]" else gguf.TokenType.CONTROL)
        else:
            tokens.append(token[2:] if token.startswith("##") else "\u2581" + token)
            kinds.append(gguf.TokenType.NORMAL)
    writer.add_token_type_count(token_types)
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(kinds)
    for token, role in _SPECIAL.items():
        if token in vocab:
            getattr(writer, f"add_{role}_token_id")(vocab.index(token))
    if "[SEP]" in vocab:
        writer.add_eos_token_id(vocab.index("[SEP]"))
