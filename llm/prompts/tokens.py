"""Token counting for prompts: measured with the local model's vocabulary when possible.

llama.cpp reads the vocabulary from the GGUF (`vocab_only`, no weights), so counts match what the
local server will count; without llama_cpp (a remote-only deployment) a conservative estimate
is used. Counts are memoised.
"""
from __future__ import annotations

import atexit
import math
import threading
from functools import lru_cache
from typing import Callable, Mapping, Sequence

from llm.local_server import local_model_path

MESSAGE_OVERHEAD = 5  # <|im_start|>, role, newline, <|im_end|>, newline (ChatML, measured)
REPLY_PRIMER = 4  # <|im_start|>assistant\n, plus the one token the server adds
ELLIPSIS = "…"

_tokenizer_lock = threading.Lock()


_vocabulary_lock = threading.Lock()
_vocabulary: list = []  # the counter, once loaded


def _vocabulary_counter() -> Callable[[str], int] | None:
    """Counts with the local GGUF's vocabulary via llama.cpp, or None when that is unavailable.
    Loaded once per process, under a lock: llama.cpp points the process's stdout and stderr at
    /dev/null while it loads, and two loads at once (the start-up warm-up and a first turn) could
    leave them there for good."""
    if not _vocabulary:
        with _vocabulary_lock:
            if not _vocabulary:
                _vocabulary.append(_vocabulary_load())
    return _vocabulary[0]


def _vocabulary_load() -> Callable[[str], int] | None:
    path = local_model_path()
    try:
        import llama_cpp
    except ImportError:
        return None
    if path is None:
        return None
    vocab = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    atexit.register(vocab.close)  # llama.cpp's __del__ fails once the interpreter is half torn down

    def count(text: str) -> int:
        with _tokenizer_lock:
            return len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    return count


def estimate_tokens(text: str) -> int:
    """A conservative guess for when no tokenizer is available (English runs ~4 chars a token)."""
    return math.ceil(len(text) / 3.2) + 1 if text else 0


@lru_cache(maxsize=8192)
def count_tokens(text: str) -> int:
    """Tokens in `text` for the local model (measured), or a conservative estimate."""
    if not text:
        return 0
    counter = _vocabulary_counter()
    return counter(text) if counter is not None else estimate_tokens(text)


def messages_tokens(messages: Sequence[Mapping[str, str]]) -> int:
    """Tokens the server will count for these messages, reply primer included."""
    return sum(count_tokens(m["content"]) + MESSAGE_OVERHEAD for m in messages) + REPLY_PRIMER


def truncate_to_tokens(text: str, limit: int) -> str:
    """The longest prefix of `text` (ending in an ellipsis, cut at a word if one is near) within `limit`."""
    if count_tokens(text) <= limit:
        return text
    if limit <= count_tokens(ELLIPSIS):
        return ""
    low, high = 0, len(text)
    while low < high:  # the longest prefix whose truncated form fits
        middle = (low + high + 1) // 2
        if count_tokens(text[:middle].rstrip() + ELLIPSIS) <= limit:
            low = middle
        else:
            high = middle - 1
    prefix = text[:low]
    space = prefix.rfind(" ")
    if space > len(prefix) - 20 and space > 0:
        prefix = prefix[:space]
    return prefix.rstrip() + ELLIPSIS if prefix.strip() else ""


def warm_tokenizer() -> bool:
    """Load the vocabulary now (about 0.1 s) rather than inside the first turn; True if measured."""
    return _vocabulary_counter() is not None
