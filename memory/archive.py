"""The compact form of folded raw records: zlib-compressed JSON, a few dozen bytes per record."""
from __future__ import annotations

import json
import zlib
from typing import Iterable, Mapping

_FIELDS = ("kind", "speaker", "minute", "importance", "text")


def archive_pack(records: Iterable[Mapping]) -> bytes:
    """Records as dicts with the keys kind, speaker, minute, importance and text."""
    rows = [[r["kind"], r["speaker"], r["minute"], round(float(r["importance"]), 3), r["text"]] for r in records]
    return zlib.compress(json.dumps(rows, separators=(",", ":"), ensure_ascii=False).encode(), 9)


def archive_unpack(data: bytes) -> list[dict]:
    return [dict(zip(_FIELDS, row)) for row in json.loads(zlib.decompress(data))]
