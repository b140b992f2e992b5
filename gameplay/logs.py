"""Structured logs: a JSON formatter (one object a line), the game/turn context of each record, and
the redaction of secrets and whole prompts.

`log_context(game_id=..., turn_id=...)` sets the ids for everything logged inside it, including in
asyncio tasks started and `sync_to_async` calls made there (contextvars follow both).
Settings' LOGGING attaches `ContextFilter` and `RedactFilter` to the console handler and picks the
`JsonFormatter` when TANKARD_LOG_FORMAT=json.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

CONTEXT_FIELDS = ("game_id", "turn_id")
_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("tankard_log_context", default={})

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName", "log_context", *CONTEXT_FIELDS,
}

SECRET_KEY = re.compile(r"(^|[_-])(api[_-]?key|authorization|secret|password|passwd|token|cookie|sessionid|csrftoken)($|[_-])", re.I)
PROMPT_KEYS = frozenset({"prompt", "prompts", "messages", "system_prompt"})
SECRET_TEXT = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}|\bsk-[A-Za-z0-9_-]{8,}")
REDACTED = "[redacted]"


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add `fields` (game_id, turn_id, ...) to every record logged inside the block."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def log_context_current() -> dict[str, Any]:
    return dict(_context.get())


class ContextFilter(logging.Filter):
    """Sets `game_id`, `turn_id` (None outside a turn) and `log_context` (text for plain logs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, context.get(name))
        for name, value in context.items():
            if name not in CONTEXT_FIELDS and not hasattr(record, name):
                setattr(record, name, value)
        shown = [f"{name}={getattr(record, name)}" for name in CONTEXT_FIELDS if getattr(record, name) is not None]
        record.log_context = f" [{' '.join(shown)}]" if shown else ""
        return True


def redact(value: Any, *, prompts: bool) -> Any:
    """A copy of `value` with secret-looking keys masked (and prompt keys shortened if `prompts`)."""
    if isinstance(value, Mapping):
        return {key: _redact_item(str(key), item, prompts=prompts) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(item, prompts=prompts) for item in value)
    return value


def _redact_item(key: str, value: Any, *, prompts: bool) -> Any:
    if SECRET_KEY.search(key):
        return REDACTED
    if prompts and key.lower() in PROMPT_KEYS:
        return f"[{len(str(value))} chars]"
    return redact(value, prompts=prompts)


class RedactFilter(logging.Filter):
    """Masks secrets in records' args, `extra=` values and message text; at INFO and above, whole
    prompts (keys like `prompt`, `messages`) become their length."""

    def filter(self, record: logging.LogRecord) -> bool:
        prompts = record.levelno >= logging.INFO
        if isinstance(record.args, (Mapping, tuple)) and record.args:
            record.args = redact(record.args, prompts=prompts)
        for key in [k for k in record.__dict__ if k not in _RECORD_ATTRS]:
            record.__dict__[key] = _redact_item(key, record.__dict__[key], prompts=prompts)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: leave it for the formatter to report
            return True
        if SECRET_TEXT.search(message):
            record.msg, record.args = SECRET_TEXT.sub(_mask_text, message), ()
        return True


def _mask_text(match: re.Match[str]) -> str:
    scheme = match.group(1)
    return f"{scheme} {REDACTED}" if scheme else REDACTED


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, game_id, turn_id, extras, exc_info."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "game_id": getattr(record, "game_id", None),
            "turn_id": getattr(record, "turn_id", None),
        }
        payload.update({k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRS})
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(payload, ensure_ascii=False, default=str)
