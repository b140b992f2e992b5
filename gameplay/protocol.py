"""Parsing and validating client frames of the websocket protocol (docs/protocol.md), and the
in-world sentences that answer bad ones. Pure functions: no sockets, no database."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.conf import settings

CLIENT_TYPES = ("command", "say", "flag")
MAX_ID_CHARS = 64
# Control and invisible direction characters, and lone UTF-16 surrogates (JSON's "\ud800" escapes
# decode to them; they cannot be stored or sent as UTF-8).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")

IN_WORLD = {
    "bad_frame": "Your words come out garbled, like a drunk's at closing time. Try again.",
    "frame_too_large": "That's more than anyone in the Tankard will sit through. Say less.",
    "unknown_type": "Nobody in the Tankard knows what to make of that.",
    "missing_field": "You open your mouth, but nothing comes out.",
    "too_long": "You ramble on so long that folk turn back to their drinks. Keep it shorter.",
    "npc_busy": "{name} holds up a finger: one thing at a time.",
    "server_busy": "The tavern's too crowded for that just now; try again in a moment.",
    "rate_limited": "Slow down, friend: even Gareth can only pour so fast. Catch your breath and try again.",
    "no_game": "The door sticks. Step back outside and come in again.",
    "bad_tavern": "There's no tavern by that name on any road you know: letters, digits and '-' make one, forty at most.",
    "tavern_closed": "The shutters are down and the door is barred: this tavern is closed.",
}


@dataclass(frozen=True)
class ClientFrame:
    type: str
    id: str | None
    text: str
    npc: str = ""
    target: str = ""  # flag: the id of the say whose reply is flagged
    private: bool = False  # say: a whisper, answered to this player only


@dataclass(frozen=True)
class FrameError:
    code: str
    reply_to: str | None

    def frame(self) -> dict:
        return error_frame(self.code, self.reply_to)


def frame_text(frame: dict) -> str:
    """A server frame as the text of a websocket message: UTF-8 as it is, escaped only when it holds
    what UTF-8 cannot carry (a lone surrogate)."""
    text = json.dumps(frame, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(frame)
    return text


def error_frame(code: str, reply_to: str | None, **fmt: str) -> dict:
    return {"type": "error", "reply_to": reply_to, "code": code, "text": IN_WORLD[code].format(**fmt)}


def clean_line(text: str) -> str:
    return re.sub(r"\s+", " ", _CONTROL.sub("", text)).strip()


def _reply_to(data: dict) -> str | None:
    raw = data.get("id")
    if isinstance(raw, (str, int)) and not isinstance(raw, bool) and 0 < len(str(raw)) <= MAX_ID_CHARS and str(raw).isprintable():
        return str(raw)
    return None


def frame_parse(text_data: str | None, bytes_data: bytes | None) -> ClientFrame | FrameError:
    """A valid client frame, or the error to answer it with."""
    if text_data is None:
        return FrameError("bad_frame", None)
    if len(text_data.encode("utf-8", "surrogatepass")) > settings.TANKARD_MAX_FRAME_BYTES:
        return FrameError("frame_too_large", None)
    try:
        data = json.loads(text_data)
    except (ValueError, RecursionError):
        return FrameError("bad_frame", None)
    if not isinstance(data, dict):
        return FrameError("bad_frame", None)
    reply_to = _reply_to(data)
    if "id" in data and data["id"] is not None and reply_to is None:
        return FrameError("bad_frame", None)
    kind = data.get("type")
    if kind not in CLIENT_TYPES:
        return FrameError("unknown_type", reply_to)
    if kind == "flag":
        return _flag_parse(data, reply_to)
    raw_text, npc, private = data.get("text"), data.get("npc", ""), data.get("private", False)
    if not isinstance(raw_text, str) or not isinstance(npc, str):
        return FrameError("bad_frame" if raw_text is not None else "missing_field", reply_to)
    if kind == "say" and private is not None and not isinstance(private, bool):
        return FrameError("bad_frame", reply_to)
    line = clean_line(raw_text)
    if not line or (kind == "say" and not npc.strip()):
        return FrameError("missing_field", reply_to)
    if len(line) > settings.TANKARD_MAX_LINE_CHARS:
        return FrameError("too_long", reply_to)
    return ClientFrame(type=kind, id=reply_to, text=line, npc=clean_line(npc).lower()[:64], private=kind == "say" and bool(private))


def _flag_parse(data: dict, reply_to: str | None) -> ClientFrame | FrameError:
    """`{"type": "flag", "id": ..., "target": <id of the say whose reply made no sense>}`."""
    target = data.get("target")
    if target is None or target == "":
        return FrameError("missing_field", reply_to)
    if not isinstance(target, (str, int)) or isinstance(target, bool) or len(str(target)) > MAX_ID_CHARS or not str(target).isprintable():
        return FrameError("bad_frame", reply_to)
    return ClientFrame(type="flag", id=reply_to, text="", target=str(target))
