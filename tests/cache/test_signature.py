"""A line's signature: lines that ask the same thing in other words share a key, lines that differ
by a word that matters never do. Pure Python, no database (the English word list is read from the
embedding model's files)."""
import pytest

from llm.reply_cache.matcher import QuestionMatch, signature_match
from llm.reply_cache.signature import Aliases, signature

GARETH = ("Gareth Rusk", "Gareth", "Rusk")
WORLD = Aliases(
    groups=(("npc:varr", ("Captain Isolde Varr", "Captain", "Varr")), ("item:rat-poison", ("twist of rat poison", "poison", "rat poison")),
            ("place:gambling-den", ("Gambling Den", "den", "card room")), ("thing:cellar-hatch", ("cellar hatch", "hatch", "trapdoor")),
            ("place:yard", ("Yard", "courtyard"))),
    own=GARETH, within=(("thing:cellar-hatch", "place:yard"),),
)


def key(line: str) -> str:
    return signature(line, names=GARETH, aliases=WORLD).key()


@pytest.mark.parametrize("first, second", [
    ("How much does a room cost for the night?", "how mutch is a rooom"),  # typing slips mended
    ("How much does a room cost for the night?", "whats a room go for"),  # an idiom, a chat spelling
    ("How much does a room cost for the night?", "A room for tonight, what are you charging?"),  # word order
    ("Heard any gossip?", "spill the tea"),
    ("Do you sell rat poison?", "where can i get rat poison"),  # who sells a thing: where it is to be had
    ("Do you sell rat poison?", "rat posion?"),
    ("Where does Captain Varr sit?", "varr always sits where?"),  # the world's names for her
    ("When does the den open?", "what hours is the card room open"),
    ("What was the hatch used for?", "The hatch out in the yard, what was it used for back then?"),
])
def test_paraphrases_share_a_key(first, second):
    assert key(first) == key(second)


@pytest.mark.parametrize("first, second", [
    ("What are you selling?", "What are you buying?"),
    ("When does the den open?", "Which night is the den closed?"),
    ("Where does Captain Varr sit?", "When is Captain Varr in?"),
    ("How much does a room cost?", "Have I paid for my room?"),  # the player's own state
    ("How much does a room cost?", "How much did a room cost last year?"),
    ("How much is a room for one night?", "How much is a room for two nights?"),  # numbers are exact
    ("Do you drink?", "What are you drinking?"),
    ("Who were you before?", "Who was here before you?"),
    ("How is the cook?", "Tell me about the cook."),
    ("Is the stew good?", "What is in the stew?"),
    ("Where can I get a drink?", "What drinks do you have?"),
    ("Who does Tobias owe?", "Who owes Tobias?"),
    ("I'm hiding from Orsk. How much is a room?", "How much is a room?"),  # a private word is part of the key
])
def test_lines_that_ask_another_thing_never_share_a_key(first, second):
    assert key(first) != key(second)


def test_a_line_with_nothing_distinctive_has_no_signature():
    assert signature("Hmm, well then.").empty


@pytest.mark.parametrize("line", ["What is the name of this town?", "How do I get out of town?"])
def test_the_towns_name_or_the_way_out__is_not_what_the_town_is_like(line):
    """Both share the town question's one concept, "town"; the name and the way are asked apart."""
    found = signature_match(QuestionMatch(key="t:x", question=None, prompt_line=line), line, names=GARETH, aliases=WORLD)
    assert found.question is None and found.key != "q:town"


def test_a_signature_that_is_a_canonical_exemplars_asks_its_question():
    own = QuestionMatch(key="t:x", question=None, prompt_line="who r u")
    found = signature_match(own, "who r u", names=GARETH)
    assert found.question == "about_self" and found.key == "q:about_self" and found.prompt_line == "Tell me about yourself"


def test_a_line_of_another_question_keeps_its_signature_and_its_own_words():
    own = QuestionMatch(key="t:x", question=None, prompt_line="whats a room go for")
    found = signature_match(own, "whats a room go for", names=GARETH, aliases=WORLD)
    assert found.key.startswith("s:") and found.question is None and found.prompt_line == "whats a room go for"


def test_an_english_word_is_never_mended_into_another():
    assert key("Where can I find a kip?") != key("Where can I find a tip?")
    assert signature("sit").unknown == ("sit",)


def test_stems_made_on_many_threads_at_once__are_the_stems_made_on_one():
    """Lines are read on the matcher's threads, the event loop's worker threads and the warm-up thread
    at once: a stemmer shared between them raised IndexError mid-word (a lost cache hit)."""
    from concurrent.futures import ThreadPoolExecutor

    from llm.reply_cache.signature import stem

    words = [w + suffix for w in ("room", "drink", "gossip", "strings", "poison", "tankard", "wander", "hurry")
             for suffix in ("", "s", "ing", "ed", "ingly", "ness", "ation")] * 40
    alone = [stem(w) for w in words]
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(stem, words, chunksize=1))
    assert together == alone
