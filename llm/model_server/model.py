"""One GGUF model and one llama.cpp context with a sequence per slot, through llama-cpp-python's C API.

`LoadedModel` owns the C objects (model, context, batch) and the few calls the engine needs:
the chat template, tokenizing, a token's text, a sampler chain per request, and one `decode` of a
batch of (token, position, sequence, wants-logits) rows. The context holds `slots` sequences of
`context_window` cells each (a KV cache split by sequence, `kv_unified` off), so a reply never runs
out of room because of the others, and each attends over its own cells only: with one cache for
all (`kv_unified`), every token attends over the whole cache, and with eight long conversations
held, a prompt was read five times slower (docs/llm.md).

`weights_in(path, "q8_0", folder)` gives the shipped GGUF re-encoded as Q8_0 (made once, kept in
`folder`): llama.cpp has no fast matrix kernels for the shipped Q4_1 on x86, and with Q8_0 a prompt
is read about twice as fast and a step of several replies costs less (docs/llm.md has the figures).
"""
from __future__ import annotations

import ctypes
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import llama_cpp

PENALTY_LAST_N = 64  # the window llama-cpp-python's own server penalises repeats over
logger = logging.getLogger(__name__)
WEIGHTS = {"as-shipped": None, "q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0}  # --weights: what the model is read as


class ModelError(RuntimeError):
    """The model file cannot be loaded, or llama.cpp refused a call."""


@dataclass(frozen=True)
class SamplingParams:
    """A request's sampling, with the defaults of llama-cpp-python's server (the one this replaces)."""

    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    seed: int | None = None


class Sampler:
    """A llama.cpp sampler chain for one sequence: greedy, or top-k, penalties, then top-p/min-p/temperature.

    Top-k comes before the penalties (llama-cpp-python's server puts the penalties first): the
    penalties then look up 40 candidates' counts instead of the whole vocabulary's 49,152, which
    took a step of eight replies 4.1 ms of sampling instead of 2.8 (here; a tenth of the step, when
    only the engine's thread works). A penalty only lowers a logit, so the two orders differ only
    when a penalty would let in a candidate ranked past the 40th, one that min-p (5 % of the
    likeliest) almost always drops."""

    def __init__(self, params: SamplingParams, fallback_seed: int) -> None:
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        add = lambda sampler: llama_cpp.llama_sampler_chain_add(chain, sampler)  # noqa: E731
        penalties = lambda: llama_cpp.llama_sampler_init_penalties(  # noqa: E731
            PENALTY_LAST_N, params.repeat_penalty, params.frequency_penalty, params.presence_penalty)
        if params.temperature <= 0.0:
            add(penalties())
            add(llama_cpp.llama_sampler_init_greedy())
        else:
            add(llama_cpp.llama_sampler_init_top_k(params.top_k))
            add(penalties())
            add(llama_cpp.llama_sampler_init_top_p(params.top_p, 1))
            add(llama_cpp.llama_sampler_init_min_p(params.min_p, 1))
            add(llama_cpp.llama_sampler_init_temp(params.temperature))
            seed = params.seed if params.seed is not None else fallback_seed
            add(llama_cpp.llama_sampler_init_dist(seed & 0xFFFFFFFF))
        self._chain = chain

    def sample(self, context: ctypes.c_void_p, row: int) -> int:
        """Pick the next token from the logits of batch row `row`, and remember it for the penalties."""
        token = llama_cpp.llama_sampler_sample(self._chain, context, row)
        llama_cpp.llama_sampler_accept(self._chain, token)
        return token

    def free(self) -> None:
        if self._chain is not None:
            llama_cpp.llama_sampler_free(self._chain)
            self._chain = None


class LoadedModel:
    """The model, its context (`slots` sequences) and a reusable batch of `batch_size` rows."""

    def __init__(self, path: Path, *, slots: int, context_window: int, threads: int, batch_size: int = 512) -> None:
        llama_cpp.llama_backend_init()
        model_params = llama_cpp.llama_model_default_params()
        model_params.use_mlock = False
        self.model = llama_cpp.llama_model_load_from_file(str(path).encode(), model_params)
        if not self.model:
            raise ModelError(f"cannot load the model file {path}")
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = context_window * slots
        params.n_batch = params.n_ubatch = batch_size
        params.n_seq_max = slots
        params.n_threads = params.n_threads_batch = threads
        params.kv_unified = False
        params.no_perf = True
        self.context = llama_cpp.llama_init_from_model(self.model, params)
        if not self.context:
            llama_cpp.llama_model_free(self.model)
            raise ModelError("cannot create the model's context")
        self.memory = llama_cpp.llama_get_memory(self.context)
        self.slots, self.context_window, self.batch_size = slots, context_window, batch_size
        self.batch = llama_cpp.llama_batch_init(batch_size, 0, 1)
        template = llama_cpp.llama_model_chat_template(self.model, None)
        self.template = template or b"chatml"
        self.add_bos = llama_cpp.llama_vocab_get_add_bos(self.vocab)

    def close(self) -> None:
        llama_cpp.llama_batch_free(self.batch)
        llama_cpp.llama_free(self.context)
        llama_cpp.llama_model_free(self.model)

    # --- text -------------------------------------------------------------------------------------

    def chat_prompt(self, messages: list[tuple[str, str]]) -> str:
        """The messages in the model's own chat template, ending where the assistant speaks."""
        encoded = [(role.encode(), content.encode()) for role, content in messages]
        array = (llama_cpp.llama_chat_message * len(encoded))(
            *[llama_cpp.llama_chat_message(role, content) for role, content in encoded])
        size = 256 + 2 * sum(len(role) + len(content) for role, content in encoded)
        for _ in range(2):
            buffer = ctypes.create_string_buffer(size)
            written = llama_cpp.llama_chat_apply_template(self.template, array, len(encoded), True, buffer, size)
            if written < 0:
                raise ModelError("the model's chat template cannot be applied")
            if written <= size:
                return buffer.raw[:written].decode("utf-8", "replace")
            size = written
        raise ModelError("the chat template's output kept growing")

    def tokenize(self, text: str) -> list[int]:
        data = text.encode("utf-8")
        room = len(data) + 16
        tokens = (llama_cpp.llama_token * room)()
        count = llama_cpp.llama_tokenize(self.vocab, data, len(data), tokens, room, self.add_bos, True)
        if count < 0:
            raise ModelError("the prompt could not be tokenized")
        return list(tokens[:count])

    def piece(self, token: int) -> bytes:
        """A token's bytes (possibly part of a UTF-8 character); special tokens render as nothing."""
        buffer = ctypes.create_string_buffer(64)
        size = llama_cpp.llama_token_to_piece(self.vocab, token, buffer, 64, 0, False)
        if size > 64:
            buffer = ctypes.create_string_buffer(size)
            size = llama_cpp.llama_token_to_piece(self.vocab, token, buffer, size, 0, False)
        return buffer.raw[:max(size, 0)]

    def is_end(self, token: int) -> bool:
        return bool(llama_cpp.llama_vocab_is_eog(self.vocab, token))

    # --- the KV cache and decoding ----------------------------------------------------------------

    def forget(self, seq: int, *, keep: int = 0) -> None:
        """Drop sequence `seq`'s cells from position `keep` on (0: the whole sequence)."""
        llama_cpp.llama_memory_seq_rm(self.memory, seq, keep, -1)

    def copy(self, source: int, target: int, *, upto: int) -> None:
        """Make sequence `target` hold sequence `source`'s positions 0..upto-1 and nothing else.

        The cache is split by sequence, and llama.cpp copies across that split only whole (the
        cells are copied before the next decode); the rest is then dropped."""
        llama_cpp.llama_memory_seq_cp(self.memory, source, target, -1, -1)
        llama_cpp.llama_memory_seq_rm(self.memory, target, upto, -1)

    def decode(self, rows: list[tuple[int, int, int, bool]]) -> None:
        """One llama_decode of rows (token, position, sequence, wants logits); len(rows) <= batch_size."""
        batch = self.batch
        for i, (token, position, seq, logits) in enumerate(rows):
            batch.token[i] = token
            batch.pos[i] = position
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = logits
        batch.n_tokens = len(rows)
        status = llama_cpp.llama_decode(self.context, batch)
        if status != 0:
            raise ModelError(f"llama_decode returned {status}")


def weights_in(path: Path, weights: str, folder: Path) -> Path:
    """The model file to load for `weights`: `path` itself for "as-shipped", else `path` re-encoded
    (made once into `folder`, named after the source file's name, size and time, written to a
    temporary file and renamed, so two processes starting at once never read half a file)."""
    ftype = WEIGHTS[weights]
    if ftype is None:
        return path
    stat = path.stat()
    target = folder / f"{path.stem}.{stat.st_size}-{int(stat.st_mtime)}.{weights}.gguf"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".part")
    os.close(handle)
    try:
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype, params.allow_requantize, params.nthread = ftype, True, 2
        if llama_cpp.llama_model_quantize(str(path).encode(), temporary.encode(), params) != 0:
            raise ModelError(f"cannot re-encode {path.name} as {weights}")
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    logger.info("Re-encoded %s as %s: %s", path.name, weights, target)
    return target


def quiet_llama_log() -> None:
    """Only llama.cpp's errors reach stderr (llama-cpp-python routes its log through this logger)."""
    logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
