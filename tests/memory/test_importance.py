"""The importance heuristic's ordering and reading the model's ratings."""
from __future__ import annotations

import pytest

from memory.importance import importance_blend, importance_heuristic, parse_rating


def test_heuristic__orders_oaths_and_debts_over_kin_over_small_talk():
    oath = importance_heuristic("I swear I will pay back the 50 gold I owe you.")
    kin = importance_heuristic("My sister Mira went missing near the old mill.")
    name = importance_heuristic("My name is Aldric.")
    chatter = importance_heuristic("Nice weather today, isn't it?")
    grunt = importance_heuristic("Hm.")
    assert oath > kin > chatter > grunt
    assert name > chatter


def test_heuristic__strong_feeling_matters():
    assert importance_heuristic("I saw them kill my father and I want revenge!") > importance_heuristic("I saw them fix the roof.")


@pytest.mark.parametrize("text", ["", "Hm.", "x" * 2000, "I promise " * 200, "!!!", "12345"])
def test_heuristic__always_within_0_and_1(text):
    assert 0.0 <= importance_heuristic(text) <= 1.0


def test_heuristic__facts_and_observations_start_higher_than_turns():
    line = "The player paid for a round."
    assert importance_heuristic(line, kind="fact") > importance_heuristic(line, kind="observation") > importance_heuristic(line)


@pytest.mark.parametrize("answer, expected", [
    ("7", 6 / 9), ("Rating: 10", 1.0), ("1", 0.0), ("I'd say 8/10.", 7 / 9), ("3 out of 10", 2 / 9),
    ("On a scale of 1 to 10, this is a 4 out of 10.", 3 / 9),
])
def test_parse_rating__reads_one_clear_rating(answer, expected):
    assert parse_rating(answer) == pytest.approx(expected)


@pytest.mark.parametrize("answer", ["", "Aye, what'll it be?", "between 3 and 7", "42", "0", "seven"])
def test_parse_rating__anything_else_is_none(answer):
    assert parse_rating(answer) is None


def test_blend__mostly_the_model():
    assert importance_blend(heuristic=0.2, rating=1.0) == pytest.approx(0.76)
    assert 0.0 <= importance_blend(heuristic=1.0, rating=1.0) <= 1.0


def test_heuristic__the_npcs_own_lines_count_for_less():
    line = "The smith owes me forty silver."
    assert importance_heuristic(line, speaker="npc") < importance_heuristic(line, speaker="player")


def test_heuristic__the_players_own_past_matters():
    assert importance_heuristic("I fought at the siege of Karsk for six long years.") > importance_heuristic(
        "The farrier in Oakvale charged me 6 copper.")
