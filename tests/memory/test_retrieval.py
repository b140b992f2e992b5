"""Scoring and choosing memories (pure numpy, no database), and the bounded matrix cache."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from memory.retrieval import MatrixCache, Weights, eligible_mask, matrix_from_rows, memory_rank, memory_scores
from llm.embeddings import to_bytes

WEIGHTS = Weights(recency=1.0, importance=1.0, relevance=1.5, half_life=1440.0)


def unit(seed: int, dim: int = 8) -> np.ndarray:
    vec = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return vec / np.linalg.norm(vec)


def row(i: int, *, kind: str = "turn", text: str = "", importance: float = 0.5, vec=None, pinned=False, minute=0, used=None):
    vec = unit(i) if vec is None else vec
    return (i, kind, text or f"memory {i}", importance, to_bytes(vec), pinned, minute, minute if used is None else used)


def matrix(rows):
    return matrix_from_rows(rows, version=1)


@hypothesis_settings(max_examples=150, deadline=None)
@given(
    costs=st.lists(st.integers(min_value=1, max_value=60), min_size=0, max_size=120),
    pinned=st.lists(st.booleans(), min_size=120, max_size=120),
    budget=st.integers(min_value=0, max_value=400),
    limit=st.integers(min_value=1, max_value=50),
    seed=st.integers(min_value=0, max_value=2**16),
    share=st.floats(min_value=0.0, max_value=1.0),
)
def test_rank__never_over_budget_and_pinned_first(costs, pinned, budget, limit, seed, share):
    n = len(costs)
    texts = [f"t{i}" for i in range(n)]
    cost_of = dict(zip(texts, costs))
    score = np.random.default_rng(seed).random(n)
    pins = np.array(pinned[:n], dtype=bool)
    chosen = memory_rank(texts=texts, score=score, pinned=pins, eligible=np.ones(n, bool),
                         token_budget=budget, count_tokens=cost_of.__getitem__, limit=limit, pinned_share=share)
    assert sum(costs[i] for i in chosen) <= budget
    assert len(chosen) <= limit
    assert len(set(chosen)) == len(chosen)
    flags = [bool(pins[i]) for i in chosen]
    assert flags == sorted(flags, reverse=True)  # every pinned one before every other
    # Pinned memories that fit are never left out for an unpinned one.
    if len(chosen) < limit:
        left = budget - sum(costs[i] for i in chosen)
        assert all(costs[i] > left for i in range(n) if pins[i] and i not in chosen)


def test_rank__best_first_within_each_group():
    texts = ["a", "b", "c", "d"]
    score = np.array([0.1, 0.9, 0.5, 0.7])
    chosen = memory_rank(texts=texts, score=score, pinned=np.array([True, False, False, False]),
                         eligible=np.ones(4, bool), token_budget=100, count_tokens=lambda t: 1, limit=10)
    assert chosen == [0, 1, 3, 2]


def test_rank__pinned_share_leaves_room_for_the_others():
    texts = ["p1", "p2", "p3", "o1", "o2"]
    pinned = np.array([True, True, True, False, False])
    score = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    rank = dict(texts=texts, score=score, pinned=pinned, eligible=np.ones(5, bool), count_tokens=lambda t: 10, limit=10)
    assert memory_rank(token_budget=40, pinned_share=0.5, **rank) == [0, 1, 3, 4]
    assert memory_rank(token_budget=40, pinned_share=1.0, **rank) == [0, 1, 2, 3]
    assert memory_rank(token_budget=50, pinned_share=0.5, **rank) == [0, 1, 2, 3, 4]  # room left: pinned back first
    only_pinned = dict(rank, eligible=np.array([True, True, True, False, False]))
    assert memory_rank(token_budget=40, pinned_share=0.2, **only_pinned) == [0, 1, 2]


def test_rank__skips_what_does_not_fit_and_takes_smaller_ones():
    texts = ["big", "small"]
    chosen = memory_rank(texts=texts, score=np.array([0.9, 0.1]), pinned=np.zeros(2, bool), eligible=np.ones(2, bool),
                         token_budget=5, count_tokens={"big": 10, "small": 3}.__getitem__, limit=10)
    assert chosen == [1]


def test_recency__halves_every_half_life_since_last_use():
    m = matrix([row(1, minute=0), row(2, minute=0, used=1440), row(3, minute=2880)])
    scores = memory_scores(m, None, now_minute=2880, weights=WEIGHTS, eligible=np.ones(3, bool))
    assert scores.recency == pytest.approx([0.25, 0.5, 1.0], rel=1e-5)


def test_recency__the_more_recent_scores_higher_all_else_equal():
    vec = unit(0)
    m = matrix([row(1, minute=0, vec=vec), row(2, minute=600, vec=vec), row(3, minute=1200, vec=vec)])
    scores = memory_scores(m, vec, now_minute=1300, weights=WEIGHTS, eligible=np.ones(3, bool))
    assert scores.score[0] < scores.score[1] < scores.score[2]


def test_relevance__the_nearer_vector_scores_higher():
    query = unit(7)
    near = query + 0.1 * unit(8)
    m = matrix([row(1, vec=unit(9)), row(2, vec=near / np.linalg.norm(near))])
    scores = memory_scores(m, query, now_minute=0, weights=WEIGHTS, eligible=np.ones(2, bool))
    assert scores.relevance[1] > 0.9 > scores.relevance[0]
    assert scores.score[1] > scores.score[0]


def test_scores__a_query_of_another_dimension_means_no_relevance():
    m = matrix([row(1), row(2)])
    scores = memory_scores(m, np.ones(5, np.float32), now_minute=0, weights=WEIGHTS, eligible=np.ones(2, bool))
    assert np.all(scores.relevance == 0)


def test_eligible__leaves_out_the_newest_turns_only():
    kinds = ["turn", "fact", "turn", "observation", "turn", "turn"]
    m = matrix([row(i, kind=k) for i, k in enumerate(kinds, start=1)])
    assert eligible_mask(m, skip_recent_turns=2).tolist() == [True, True, True, True, False, False]
    assert eligible_mask(m, skip_recent_turns=0).all()


def test_matrix__vectors_of_another_size_become_zeros():
    rows = [row(1), row(2), (3, "turn", "odd", 0.5, b"\x00\x01" * 3, False, 0, 0)]
    m = matrix(rows)
    assert m.vectors.shape == (3, 8)
    assert not m.vectors[2].any() and m.vectors[0].any()


def test_matrix__append_and_use_make_new_matrices():
    base = matrix([row(1), row(2)])
    grown = base.appended(matrix([row(3)]))
    assert grown.ids.tolist() == [1, 2, 3] and base.ids.tolist() == [1, 2]
    used = grown.used([2], 500)
    assert used.last_used.tolist() == [0, 500, 0] and grown.last_used.tolist() == [0, 0, 0]


def test_cache__evicts_least_recently_used_past_its_bytes():
    one = matrix([row(i) for i in range(50)])
    cache = MatrixCache(max_bytes=int(one.nbytes * 2.5))
    for name in "abc":
        cache.put((name, "npc"), one)
    assert len(cache) == 2 and cache.get(("a", "npc")) is None
    cache.get(("b", "npc"))
    cache.put(("d", "npc"), one)
    assert cache.get(("b", "npc")) is not None and cache.get(("c", "npc")) is None
    assert cache.nbytes <= cache.max_bytes


def test_cache__too_big_a_matrix_is_not_kept():
    cache = MatrixCache(max_bytes=100)
    cache.put(("a", "npc"), matrix([row(1)]))
    assert len(cache) == 0 and cache.nbytes == 0


def test_cache__drop_game():
    cache = MatrixCache(max_bytes=10**7)
    for key in [("g1", "a"), ("g1", "b"), ("g2", "a")]:
        cache.put(key, matrix([row(1)]))
    cache.drop_game("g1")
    assert len(cache) == 1 and cache.get(("g2", "a")) is not None
