"""The optional judge: a model's stay-in-character score, reported apart, skipped when it does not answer."""
from __future__ import annotations

from gameplay.playtest.judge import judge_score
from tests.llm.fake_openai import FakeOpenAI, Reply

ROWS = [
    {"id": "a", "npc": "gareth", "text": "Hello", "reply": "Evening, friend.", "source": "llm"},
    {"id": "b", "npc": "wren", "text": "Hi", "reply": "Hello, love.", "source": "fallback"},
    {"id": "c", "npc": "wren", "text": "Hi", "reply": "", "source": None},  # an error: nothing to judge
]


def test_judge__scores_each_reply_and_averages():
    with FakeOpenAI() as fake:
        fake.script(Reply("8"), Reply("Score: 5/10"))
        judged = judge_score(ROWS, fake.base_url)
        assert judged["scores"] == {"a": 8, "b": 5} and judged["value"] == 6.5 and judged["n"] == 2
        assert judged["model"] == "fake-model"
        asked = [r.body for r in fake.requests if r.path.endswith("/chat/completions")]
        assert "Evening, friend." in asked[0]["messages"][-1]["content"] and len(asked) == 2


def test_judge__that_does_not_answer_is_skipped_with_a_message():
    with FakeOpenAI() as fake:
        url = fake.base_url
    said = []
    judged = judge_score(ROWS, url, say=said.append)
    assert judged["value"] is None and "did not answer" in judged["skipped"] and said
