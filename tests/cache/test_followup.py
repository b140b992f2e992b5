"""When a line said later in a conversation stands alone (the reply cache may answer it) and when its
right reply depends on what was said before (it may not)."""
import pytest

from llm.reply_cache.followup import follow_up_reason
from llm.reply_cache.signature import Aliases

GARETH = ("Gareth Rusk", "Gareth", "Rusk")
WORLD = Aliases(groups=(("npc:varr", ("Captain Isolde Varr", "Captain", "Varr")),), own=GARETH)


def reason(line: str, reply: str = "Bitter out there, friend.", said: str = "Morning!", canonical: bool = False):
    return follow_up_reason(line, previous_reply=reply, previous_line=said, names=GARETH, aliases=WORLD, canonical=canonical)


@pytest.mark.parametrize("line", [
    "Anyway, what's the price of a room?",
    "Right. And if I wanted to stay the night, how much is a room?",
    "Different question. Where does Captain Varr sit when she comes in?",  # "she": Varr, in the line
    "The hatch out in the yard, what was it used for back then?",  # "it": the hatch
    "Where were you when that old tankard disappeared?",  # "that" before a noun
    "Sorry, I never caught your name.",
    "Is it true the tankard was stolen?",  # the world's "it", not a thing said before
    "Is it far to Thornbury from here?",
])
def test_a_line_that_stands_alone(line):
    assert reason(line) is None


@pytest.mark.parametrize("line, reply, expected", [
    ("And for two nights?", "Eight gold a night.", "opener"),
    ("Which one would you pick?", "Ale or cider, three gold.", "opener"),
    ("Whatever you'd recommend, then.", "Evening, friend. What'll it be?", "answer"),
    ("Tell me more.", "The miller's daughter ran off.", "back-reference"),
    ("Have you told anyone what I told you?", "My lips are sealed.", "back-reference"),
    ("Does he pocket it?", "The Reeve raised it again.", "pronoun:he"),
    ("Does that include breakfast?", "Eight gold a night.", "pronoun:that"),
    ("What happened to the goat?", "She ran off with a tinker and a goat.", "said-before:goat"),
    ("Why not?", "I'd rather not say.", "opener"),
    ("Why won't you tell me?", "Mutton and barley, and no more.", "no-topic"),
    ("Is it any good?", "A bowl of mutton stew is 5 gold.", "pronoun:it"),  # "good" comes after "it": nothing for it to be
    ("Does it come with bread?", "A bowl of mutton stew is 5 gold.", "pronoun:it"),
])
def test_a_line_that_hangs_on_the_conversation(line, reply, expected):
    assert reason(line, reply) == expected


def test_a_word_the_player_said_in_the_last_exchange_ties_the_line_to_it():
    said = "Between you and me, a moneylender called Orsk is after me."
    assert reason("Do you think Orsk will find me here?", said=said) == "said-before:orsk"


def test_a_canonical_question_needs_no_topic_of_its_own():
    assert reason("Who are you?", canonical=True) is None
    assert reason("Who are you?") == "no-topic"
