"""Which canonical question a line asks: the guard and the nearest-exemplar search. Uses the local
embedding model; no database."""
import json
import threading
import time
from pathlib import Path

import pytest

from llm import embeddings
from llm.reply_cache import matcher
from llm.reply_cache.lexicon import line_words, normalise
from llm.reply_cache.matcher import guard_veto, question_match, text_key
from llm.reply_cache.questions import QUESTIONS

ROOT = Path(__file__).resolve().parents[2]
GARETH = ("Gareth Rusk", "Gareth", "Rusk")
OTHERS = ("wren", "abney", "magda", "crumb", "varr", "captain")


def ask(line: str):
    return question_match(line, names=GARETH, others=OTHERS)


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.key)
def test_every_exemplar_passes_its_own_questions_guard(question):
    for text in question.exemplars:
        assert guard_veto(question, line_words(text), frozenset(normalise(text).split())) is None, text


@pytest.mark.parametrize("line, question", [
    ("Who are you, really?", "about_self"), ("Tell me about yourself.", "about_self"),
    ("Is there any food?", "food"), ("What have you got to drink, barkeep?", "drinks"),
    ("Gareth, any rooms free tonight?", "room"), ("Any news?", "rumours"), ("Good evening, Gareth.", "greeting"),
])
def test_paraphrases_ask_the_canonical_question(line, question):
    match = ask(line)
    assert match.question == question, match


@pytest.mark.parametrize("first, second", [
    ("What do you have to drink?", "What do you have to eat?"),
    ("What's in the stew today?", "What was in the stew yesterday?"),
    ("Where is the cellar?", "What is in the cellar?"),
    ("Do you have a room for tonight?", "Do you have a room for next week?"),
    ("Tell me about yourself.", "Tell me about your wife."),
    ("Tell me about yourself.", "Tell me about Wren."),
    ("What's your name?", "What's your brother's name?"),
    ("Do you have any work for me?", "I don't want any work."),
    ("I'd like a pint of ale.", "I'd like a pint of cider."),
    ("What do you have to drink?", "Do you drink?"),
    ("How are you?", "How is business?"),
    ("Do you have a room for the night?", "Where is my room?"),
])
def test_near_misses_never_share_a_key(first, second):
    assert ask(first).key != ask(second).key


def test_embeddings_benchmark_near_miss_pairs_never_share_a_key():
    """The near-miss pairs of bench/data/paraphrases.json, written for the embeddings benchmark."""
    pairs = json.loads((ROOT / "bench" / "data" / "paraphrases.json").read_text())
    for pair in pairs:
        if not pair["match"]:
            assert ask(pair["a"]).key != ask(pair["b"]).key, pair


def test_a_line_of_no_question_is_keyed_by_its_normalised_words():
    assert ask("Where's the cellar?").key == ask("where is the cellar").key == text_key("Gareth, where is the cellar?", names=GARETH)
    assert ask("Where's the cellar?").question is None
    assert ask("Where's the cellar?").key != ask("What's in the cellar?").key


def test_a_vocative_is_not_part_of_the_question_but_a_name_in_the_middle_is():
    assert ask("Gareth, what's your name?").question == "name"
    assert ask("Tell me about Wren.").question is None
    assert ask("Tell me about Wren.").reason == "guard:name"


def test_the_model_is_asked_the_canonical_question_unless_the_player_used_its_words():
    assert ask("Who are you?").prompt_line == "Tell me about yourself"
    assert ask("Tell me about yourself").prompt_line == "Tell me about yourself"
    assert ask("Where's the cellar?").prompt_line == "Where's the cellar?"


def _as_a_new_process() -> None:
    """This process forgets every decision and vector it made (the Django cache is what is shared)."""
    matcher._matches.clear()
    matcher._undecided.clear()
    matcher._early.clear()
    embeddings.clear_cache()


def test_shared_decision__another_process_decides_a_phrasing_without_embedding_it():
    line = "Could you tell me about yourself?"
    _as_a_new_process()
    first = ask(line)
    assert first.reason == "match" and first.question == "about_self"  # decided by an embedding
    assert embeddings.embedded_already([line])[0] is not None

    _as_a_new_process()
    again = ask(line)

    assert again == first
    assert embeddings.embedded_already([line])[0] is None  # no model pass in the "other process"


def test_shared_decision__other_thresholds_decide_anew(monkeypatch):
    line = "Could you tell me about yourself?"
    _as_a_new_process()
    first = ask(line)
    monkeypatch.setattr(matcher, "MIN_SCORE", 0.99)
    _as_a_new_process()

    strict = ask(line)

    assert first.question == "about_self" and strict.question is None and strict.reason == "score"
    assert embeddings.embedded_already([line])[0] is not None


def _passes_watched(monkeypatch) -> list[tuple[str, tuple[str, ...]]]:
    """Every embedding pass from now on: (the thread that ran it, its texts)."""
    matcher.index_warm()  # the exemplars' own pass is not the one watched
    passes = []
    real = embeddings._embed_local

    def watched(texts):
        passes.append((threading.current_thread().name, tuple(texts)))
        return real(texts)

    monkeypatch.setattr(embeddings, "_embed_local", watched)
    return passes


def test_begun_decision__is_the_one_the_ask_gets__made_once_on_the_matchers_thread(monkeypatch):
    line = "Could you say who you are?"
    _as_a_new_process()
    passes = _passes_watched(monkeypatch)

    matcher.question_match_begin(line, names=GARETH, others=OTHERS)
    begun = matcher._early.get(matcher._cache_key(line, GARETH, OTHERS))
    deadline = time.monotonic() + 5
    while not (begun.running() or begun.done()) and time.monotonic() < deadline:
        time.sleep(0.001)  # a decision not yet started when asked for is the asker's to make
    found = ask(line)

    assert found.reason == "match" and found.question == "about_self"
    assert len(passes) == 1 and passes[0][0].startswith("reply-match")  # one pass, not on the asker's thread
    assert ask(line) is found


def test_begun_decision__not_yet_started_is_made_by_the_asker_not_waited_for(monkeypatch):
    line = "Could you say who you are?"
    _as_a_new_process()
    passes = _passes_watched(monkeypatch)
    release = threading.Event()
    busy = [matcher.early_pool().submit(release.wait, 10) for _ in range(matcher.EARLY_THREADS)]
    try:
        matcher.question_match_begin(line, names=GARETH, others=OTHERS)
        found = ask(line)  # waiting for the queued decision would take the blockers' 10 s
        assert found.question == "about_self"
        assert [thread for thread, _ in passes] == [threading.current_thread().name]
        assert not any(b.done() for b in busy)
    finally:
        release.set()


def test_begun_decision__a_line_seen_before_begins_nothing():
    line = "Could you say who you are?"
    _as_a_new_process()
    first = ask(line)

    matcher.question_match_begin(line, names=GARETH, others=OTHERS)

    assert len(matcher._early) == 0 and ask(line) is first
