"""Lines no question reads (no canonical question, none of the NPC's own), kept under their own
signature: a later line that asks the same in the same context is served that reply
(`asked.kin_match`, the reply path's `_akin`), a line asking something else is not."""
import pytest

from llm.reply_cache.asked import Asked, kin_match
from llm.reply_cache.signature import Aliases
from tests.cache.conftest import ask
from tests.llm.fake_openai import Reply

HAL = ("Hal Ferrow", "Hal", "Ferrow")
MOORING = "Where do you tie up the ferry at night?"
KIN = (("s:mooring", MOORING), ("s:dog", "Is that your dog on the jetty?"))


def hal(line: str, kin=KIN):
    return kin_match(line, names=HAL, aliases=Aliases(own=HAL), asked=Asked(), kin=kin)


@pytest.mark.parametrize("line", ["Where do you tie the ferry up at night?", "Hal, where's the ferry tied up at night?"])
def test_a_line_asking_what_an_earlier_one_asked__takes_its_key(line):
    found = hal(line)
    assert found is not None and found.key == "s:mooring" and found.text == MOORING, (line, found)


@pytest.mark.parametrize("line", [
    "When do you tie up the ferry at night?",  # another kind of question: when, not where
    "Where do you tie up the ferry in winter?",  # a word the earlier line never used
    "Who ties up the ferry at night?",
])
def test_a_line_asking_something_else__takes_no_earlier_key(line):
    found = hal(line)
    assert found is None or found.key != "s:mooring", (line, found)


@pytest.mark.parametrize("earlier, line", [
    ("I'm looking for the blacksmith.", "I'm looking for the blacksmith's daughter."),  # statements: no question asked
    ("I need a healer.", "I am a healer."),
    ("Which is the key to room three?", "Which is the key to room four?"),  # another number
    ("Can you keep a secret?", "Can you tell me a secret?"),  # "me": the player asks for something
])
def test_near_lines_of_the_embeddings_bench__take_no_earlier_key(earlier, line):
    assert hal(line, kin=(("s:earlier", earlier),)) is None


def test_no_earlier_lines__no_match():
    assert hal("Where do you tie the ferry up at night?", kin=()) is None


DAY_OFF = "Do you ever get a whole day off from the bar?"  # no canonical question, none of Gareth's own
DAY_OFF_REPLY = "A day off? The ale doesn't pour itself, friend."


@pytest.mark.django_db(transaction=True)
async def test_a_line_kept_under_its_own_signature__serves_a_later_paraphrase(fake_llm, new_player):
    alice, bob, carol = [(await new_player())[1] for _ in range(3)]  # three games' cookies
    fake_llm.script(Reply(DAY_OFF_REPLY), Reply("Tomorrow I'll be right here, same as ever."))
    first = await ask(alice, DAY_OFF)
    assert first[-1]["source"] == "llm" and first[-1]["text"] == DAY_OFF_REPLY

    second = await ask(bob, "Do you ever get a whole day away from the bar?")
    assert second[-1]["type"] == "npc.end" and second[-1]["source"] == "cache", second[-1]
    assert second[-1]["text"] == DAY_OFF_REPLY and fake_llm.chat_count == 1

    other = await ask(carol, "When is your next whole day off from the bar?")
    assert other[-1]["source"] == "llm" and fake_llm.chat_count == 2
