"""Fixtures for the memory tests: small fold thresholds, a clean retrieval cache, the fake model server."""
from __future__ import annotations

import uuid

import pytest

from memory.retrieval import matrix_cache
from tests.llm.conftest import fake_llm  # noqa: F401  (the real HTTP fake OpenAI server, as a fixture)

SMALL_MEMORY = {
    "SUMMARISE_AFTER": 10,
    "KEEP_RAW": 4,
    "HARD_RAW_LIMIT": 1000,
    "MAX_SUMMARIES": 4,
    "MERGE_SUMMARIES": 3,
    "MAX_FACTS": 40,
    "MAX_ARCHIVES": 3,
    "ARCHIVE_MAX_TURNS": 100,
    "RECENCY_HALF_LIFE": 1440.0,
    "USE_LLM": False,
}


@pytest.fixture(autouse=True)
def memory_settings(settings):
    """Small thresholds, and no model unless a test asks for `fake_llm` (which sets USE_LLM itself)."""
    settings.TANKARD_MEMORY = dict(SMALL_MEMORY)
    matrix_cache().clear()
    yield settings.TANKARD_MEMORY
    matrix_cache().clear()


@pytest.fixture
def model_on(settings, fake_llm):  # noqa: F811
    """The fake server answers as the model, and memory may use it."""
    settings.TANKARD_MEMORY = {**settings.TANKARD_MEMORY, "USE_LLM": True}
    return fake_llm


@pytest.fixture
def game_id() -> str:
    return str(uuid.uuid4())


def words(text: str) -> int:
    """A deterministic token counter for tests: one token per word."""
    return len(text.split())
