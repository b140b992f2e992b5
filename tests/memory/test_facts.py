"""Facts found in the player's lines: what each pattern takes, and keys that make a restatement replace."""
from __future__ import annotations

import pytest

from memory.facts import facts_extract


def one(line: str):
    (fact,) = facts_extract(line)
    return fact


@pytest.mark.parametrize("line, name", [
    ("My name is Aldric.", "Aldric"),
    ("my name's aldric stone", "Aldric"),
    ("My name is Aldric Stone, and I'm thirsty.", "Aldric Stone"),
    ("Call me Wren.", "Wren"),
    ("Evening. I'm Tomas, a miner from the hills.", "Tomas"),
    ("I am Hilde.", "Hilde"),
])
def test_name__patterns(line, name):
    fact = one(line)
    assert fact.key == "name"
    assert fact.text == f"The player's name is {name}."


@pytest.mark.parametrize("line", ["I'm tired.", "I'm sorry, friend.", "I'm looking for work.", "I am not a thief."])
def test_name__not_taken_from_adjectives_or_lowercase(line):
    assert all(f.key != "name" for f in facts_extract(line))


@pytest.mark.parametrize("line, key, text", [
    ("My sister is called Mira.", "kin:sister", "The player's sister is called Mira."),
    ("my brother, named hal, drinks too much", "kin:brother", "The player's brother is called Hal."),
    ("My mother's name is Greta Vell.", "kin:mother", "The player's mother is called Greta Vell."),
    ("My wife, Elsa, waits at home.", "kin:wife", "The player's wife is called Elsa."),
    ("my daughter is called mira and she is lost", "kin:daughter", "The player's daughter is called Mira."),
])
def test_kin__patterns(line, key, text):
    fact = one(line)
    assert (fact.key, fact.text) == (key, text)


def test_kin__is_without_a_name_is_not_a_fact():
    assert facts_extract("My sister is missing.") == ()


@pytest.mark.parametrize("line, key, text", [
    ("I owe you 5 gold.", "debt:you", "The player owes you 5 gold."),
    ("I owe 12 silver to Bram.", "debt:bram", "The player owes 12 silver to Bram."),
    ("I still owe Bram twelve silver for the mule", "debt:bram", "The player owes Bram twelve silver for the mule."),
    ("I owe the guild a favour.", "debt:guild", "The player owes the guild a favour."),
])
def test_debt__keyed_by_who_is_owed(line, key, text):
    fact = one(line)
    assert (fact.key, fact.text) == (key, text)


def test_promise__in_the_third_person():
    fact = one("I promise to bring you my father's map!")
    assert fact.key == "promise:bring-you-fathers-map"
    assert fact.text == "The player promised to bring you their father's map."


def test_promise__swear_that():
    assert one("I swear that I will repay you.").text == "The player promised that they will repay you."


def test_goal__looking_for():
    fact = one("I am searching for the lost crown of Eldmoor, and my map is torn.")
    assert fact.key == "goal:lost-crown-eldmoor"
    assert fact.text == "The player is looking for the lost crown of Eldmoor."


def test_several_facts_in_one_line():
    keys = {f.key for f in facts_extract("My name is Aldric. My sister is called Mira. I owe Bram 3 gold.")}
    assert keys == {"name", "kin:sister", "debt:bram"}


def test_restatement_has_the_same_key():
    first, second = one("My sister is called Mira."), one("Actually my sister is named Myra.")
    assert first.key == second.key == "kin:sister"
    assert second.text == "The player's sister is called Myra."


def test_small_talk_has_no_facts():
    assert facts_extract("Another ale, and is it raining out?") == ()
