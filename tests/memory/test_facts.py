"""Facts found in the player's lines: what each pattern takes, and keys that make a restatement replace."""
from __future__ import annotations

import pytest

from memory.facts import Fact, fact_answer, facts_extract, recall_asked


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


@pytest.mark.parametrize("line, name", [
    ("The name's Aldric, by the way.", "Aldric"),
    ("name's Ned. Pleased to meet you.", "Ned"),
    ("I go by Wyn.", "Wyn"),
])
def test_name__said_without_my(line, name):
    assert one(line) == Fact("name", f"The player's name is {name}.")


@pytest.mark.parametrize("line, key, text", [
    ("I've a cat named Pickle at home.", "pet:cat", "The player's cat is called Pickle."),
    ("my horse Clover is tied up outside", "pet:horse", "The player's horse is called Clover."),
    ("My dog's name is Rufus.", "pet:dog", "The player's dog is called Rufus."),
    ("I've got a mule called Turnip.", "pet:mule", "The player's mule is called Turnip."),
])
def test_pet__patterns(line, key, text):
    assert one(line) == Fact(key, text)


@pytest.mark.parametrize("line, trade", [
    ("I'm a cooper by trade.", "cooper"),
    ("I work as a scribe for the Reeve.", "scribe"),
    ("i'm a blacksmith from up north", "blacksmith"),
    ("By trade I'm a weaver.", "weaver"),
])
def test_trade__patterns(line, trade):
    assert one(line) == Fact("trade", f"The player is a {trade} by trade.")


@pytest.mark.parametrize("line", ["I'm a stranger here.", "I'm a bit tired.", "I'm a friend of Gareth's.",
                                  "I'm a long way from home.", "I'm a traveller, nothing more."])
def test_trade__not_taken_from_what_is_no_trade(line):
    assert all(f.key != "trade" for f in facts_extract(line))


@pytest.mark.parametrize("line, key, text", [
    ("I lost my silver ring on the road", "lost:ring", "The player lost their silver ring."),
    ("ive lost my pack somewhere, have you seen it?", "lost:pack", "The player lost their pack."),
])
def test_lost__patterns(line, key, text):
    assert one(line) == Fact(key, text)


@pytest.mark.parametrize("line, key, text", [
    ("my aunt Hilde runs the bakery", "kin:aunt", "The player's aunt is called Hilde."),
    ("My cousin is called Pim.", "kin:cousin", "The player's cousin is called Pim."),
])
def test_kin__more_relations(line, key, text):
    assert one(line) == Fact(key, text)


@pytest.mark.parametrize("line, asked", [
    ("What's my name?", ("name",)), ("do u remember my name", ("name",)), ("Who am I, then?", ("name",)),
    ("what's my dog called?", ("pet:dog",)), ("Remember my cat's name?", ("pet:cat",)),
    ("what's my trade?", ("trade",)), ("What do I do for a living?", ("trade",)), ("what's my job again", ("trade",)),
    ("what did I lose?", ("lost:",)), ("Who's my aunt?", ("kin:aunt",)), ("what's my cousin called", ("kin:cousin",)),
    ("What do you know about me?", ("",)), ("tell me what you remember about me", ("",)),
])
def test_recall_asked__the_facts_a_line_asks_back(line, asked):
    assert recall_asked(line) == asked


@pytest.mark.parametrize("line", ["What's your name?", "Can I bring my dog in?", "I lost my way.", "Who are you?",
                                  "My name is Aldric.", "What do you do for a living?"])
def test_recall_asked__not_a_question_about_the_player(line):
    assert recall_asked(line) == ()


@pytest.mark.parametrize("fact, answer", [
    (Fact("name", "The player's name is Aldric Stone."), "Aldric Stone"),
    (Fact("pet:dog", "The player's dog is called Rufus."), "Rufus"),
    (Fact("trade", "The player is a cooper by trade."), "cooper"),
    (Fact("lost:ring", "The player lost their silver ring."), "ring"),
    (Fact("kin:aunt", "The player's aunt is called Hilde."), "Hilde"),
    (Fact("debt:you", "The player owes you 5 gold."), None),
])
def test_fact_answer__the_word_a_reply_must_say(fact, answer):
    assert fact_answer(fact) == answer


@pytest.mark.parametrize("line, key, text", [
    ("Bran's the name.", "name", "The player's name is Bran."),
    ("everyone calls me Red", "name", "The player's name is Red."),
    ("Folk know me as Sable.", "name", "The player's name is Sable."),
    ("I've misplaced my purse.", "lost:purse", "The player lost their purse."),
    ("my purse went missing on the road", "lost:purse", "The player lost their purse."),
    ("I lost my brother's ring", "lost:ring", "The player lost their brother's ring."),
])
def test_more_wordings_of_a_name_and_a_thing_lost(line, key, text):
    assert one(line) == Fact(key, text)


@pytest.mark.parametrize("line", ["They called me a fool.", "The Tankard's the name of this place."])
def test_no_name_from_an_insult_or_a_place(line):
    assert all(f.key != "name" for f in facts_extract(line))


@pytest.mark.parametrize("line, asked", [("Do you know who I am?", ("name",)), ("did I mention what I'd lost?", ("lost:",)),
                                         ("what was the name of my dog?", ("pet:dog",))])
def test_recall_asked__more_wordings(line, asked):
    assert recall_asked(line) == asked


@pytest.mark.parametrize("line", [
    "What do you think of me, honestly?", "remember that song you wrote about me last month? sing it again",
    "what was this place like when you were young? my gran used to say the old inns were all smugglers",
    "What do I do for fun around here?", "What do I do now?",
])
def test_recall_asked__a_line_that_only_mentions_the_player_or_their_kin_asks_nothing_back(line):
    """A wrong "asked back" would make the NPC answer with the player's facts, whatever was asked."""
    assert recall_asked(line) == ()
