"""The two ways a model call fails, as seen by callers of `llm.client`."""
from __future__ import annotations

KINDS = ("timeout", "connect", "http_5xx", "http_4xx", "breaker_open", "queue_full", "malformed")


class LLMError(Exception):
    """Base of the model errors; `kind` is one of KINDS."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


class LLMUnavailable(LLMError):
    """No reply at all: nothing reached the caller (use the fallback line)."""


class LLMStreamCut(LLMError):
    """The reply broke off after tokens were already yielded; `partial_text` is what was sent."""

    def __init__(self, kind: str, partial_text: str, detail: str = "") -> None:
        super().__init__(kind, detail)
        self.partial_text = partial_text
