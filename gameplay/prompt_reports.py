"""The prompt inspector's reports: exactly the messages an NPC reply was given, with each chosen
memory's scores and why it was chosen, as plain values. The reply path keeps the report of each real
reply a day in the cache, keyed by game and message id; the staff page reads them
(`inspector.prompt_report_now` builds one for a line not said)."""
from __future__ import annotations

import logging
from dataclasses import asdict

from django.core.cache import cache

logger = logging.getLogger(__name__)
REPORT_SECONDS = 24 * 60 * 60


def prompt_report(prompt, recalled, *, canon=()) -> dict:
    """A prompt, its memories and its canon facts (why each was picked, and whether the budget let
    it in) as plain JSON values."""
    system = prompt.system_text
    return {
        "messages": [dict(m) for m in prompt.messages],
        "tokens": dict(prompt.tokens),
        "dropped": list(prompt.dropped),
        "budget": {"context_window": prompt.budget.context_window, "reply": prompt.budget.reply, "memories": prompt.budget.memories},
        "memories": [asdict(m) for m in recalled],
        "canon": [{"key": p.fact.key, "text": p.fact.text, "why": p.why, "in_prompt": p.fact.text in system} for p in canon],
    }


def _key(game_id: str, client_id: str) -> str:
    return f"prompt-report:{game_id}:{client_id}"


def prompt_report_keep(*, game_id: str, client_id: str | None, report: dict) -> None:
    if not client_id:
        return
    try:
        cache.set(_key(game_id, client_id), report, REPORT_SECONDS)
    except Exception:  # the inspector is a convenience: never fail a reply for it
        logger.warning("prompt report not kept", exc_info=True)


def prompt_report_kept(*, game_id: str, client_id: str | None) -> dict | None:
    if not client_id:
        return None
    try:
        return cache.get(_key(game_id, client_id))
    except Exception:
        return None
