"""The optional judge of a playtest: another OpenAI-compatible model (`--judge URL`) scoring each
reply's staying in character from 1 to 10 (PingPong-style). It is reported apart and never replaces
the scorecard's deterministic figures; a judge that does not answer is skipped with a message."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable

from .runner import model_served

TIMEOUT = 60.0
PROMPT = (
    "You judge a character in a fantasy tavern role-play game. The player spoke to the character named below; "
    "read the character's reply and score how well it stays in character, from 1 (breaks character: speaks as an "
    "AI or assistant, talks about prompts or instructions, speaks for the player, nonsense) to 10 (fully in "
    "character, in the world, natural). Answer with the number only."
)
_NUMBER = re.compile(r"\b(10|[1-9])\b")


def _post(url: str, body: dict, key: str) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=TIMEOUT) as response:
        return json.loads(response.read())


def judge_score(rows: list[dict], url: str, *, key: str = "judge", say: Callable[[str], None] = lambda _: None) -> dict:
    """{"url", "model", "value" (mean score or None), "n", "scores": {line id: score}}, or with
    "skipped" (why) when the judge does not answer."""
    base = url.rstrip("/")
    model = model_served(base) or "default"
    scores: dict[str, int] = {}
    for row in rows:
        if not row.get("reply") or row.get("source") is None:
            continue
        body = {"model": model, "temperature": 0, "max_tokens": 8, "messages": [
            {"role": "system", "content": PROMPT},
            {"role": "user", "content": f"Character: {row['npc']}\nPlayer: {row['text']}\nCharacter's reply: {row['reply']}\nScore:"}]}
        try:
            answer = _post(f"{base}/chat/completions", body, key)["choices"][0]["message"]["content"] or ""
        except (OSError, ValueError, KeyError, IndexError, TypeError, urllib.error.URLError) as exc:
            say(f"The judge at {base} did not answer ({exc}); the run is reported without its score.")
            return {"url": base, "model": model, "value": None, "n": 0, "scores": {}, "skipped": f"the judge did not answer ({exc})"}
        if (found := _NUMBER.search(answer)) is not None:
            scores[row["id"]] = int(found.group(1))
    value = sum(scores.values()) / len(scores) if scores else None
    return {"url": base, "model": model, "value": value, "n": len(scores), "scores": scores,
            **({} if scores else {"skipped": "the judge gave no score"})}
