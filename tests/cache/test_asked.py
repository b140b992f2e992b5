"""An NPC's own asked questions: which lines ask them (`asked_match`, with the local embedding
model), how they travel from the world file through the database to plain values, and, over the
websocket, that a phrasing nobody wrote down is served the reply kept for the question."""
import json

import pytest

from gameplay.content import WORLD_FILE, world_content_load
from llm.reply_cache.asked import Asked, asked_key, asked_match, asked_owner
from llm.reply_cache.signature import Aliases
from npcs.models import Npc
from npcs.selectors import npc_definitions_all
from tests.cache.conftest import ask
from tests.llm.fake_openai import Reply

HAL = ("Hal Ferrow", "Hal", "Ferrow")
PRICE = "How much is the ferry crossing?"
LAST = "When does the last ferry leave?"
WORK = "Is there any work to be had?"  # a canonical question's own text (llm/reply_cache/questions.py)
PRICE_ASKED = (PRICE, (
    "What does the crossing cost?", "How much to cross the river?", "What's the fare?",
    "What do you charge for the ferry?", "How much for a ride across?", "What's the price of a crossing?",
    "How dear is the ferry?", "What'll the crossing set me back?"))
FERRYMAN = Asked(questions=(
    PRICE_ASKED,
    (LAST, ("When's the last boat?", "What time does the final ferry go?", "How late does the ferry run?",
            "When is the last crossing tonight?", "Until when does the ferry run?", "When do you stop crossing?")),
    (WORK, ("Any work on the ferry?", "Do you need a hand on the boat?", "Can I work my passage?",
            "Got any jobs going?", "Could you use a deckhand?", "Any coin to be earned here?")),
))


def hal(line: str, asked: Asked = FERRYMAN):
    return asked_match(line, names=HAL, aliases=Aliases(own=HAL), asked=asked)


@pytest.mark.parametrize("line, question", [
    ("How much does it cost to cross?", PRICE), ("What would a crossing cost me?", PRICE),
    ("How much is a ferry ticket?", PRICE), ("Hal, how much is the ferry crossing?", PRICE),
    ("What time is the last boat tonight?", LAST), ("When's the final ferry?", LAST),
])
def test_a_paraphrase_not_among_the_phrasings__asks_its_question(line, question):
    match = hal(line)
    assert match is not None and match.key == asked_key(question), (line, match)
    assert match.text == question and match.question is None  # the model is asked the question's text


@pytest.mark.parametrize("question", [PRICE, LAST])
def test_the_question_text_itself__asks_the_question(question):
    assert hal(question).key == asked_key(question)


def test_a_question_of_another_kind__is_not_the_price_question():
    """Same ferry, but "when" or "how long" is not "how much"; alone with the price question it is no match at all."""
    for line in ("When does the ferry leave?", "How long is the ferry crossing?"):
        found = hal(line)
        assert found is None or found.key != asked_key(PRICE), line
        assert hal(line, Asked(questions=(PRICE_ASKED,))) is None, line


def test_a_line_about_the_player__is_not_the_question():
    assert hal("Have I paid for the crossing yet?") is None


@pytest.mark.parametrize("line", ["How much is the bridge toll?", "How much is a river fish?"])
def test_a_price_of_something_new__is_not_the_ferry_price(line):
    """Close to the price question in embedding and of the same kind, but its new words raise the score needed."""
    assert hal(line) is None


def asked_of(slug: str) -> Asked:
    (npc,) = [n for n in json.loads(WORLD_FILE.read_text())["npcs"] if n["slug"] == slug]
    return Asked(questions=tuple((q["question"], tuple(q["phrasings"])) for q in npc["asked"]))


def gareths_asked() -> Asked:
    return asked_of("gareth")


def test_whether_someone_is_about__is_no_question_of_what_they_are_like():
    """"Is Gareth around?" asks where he is (the game answers that by his schedule), not Magda's
    "What's Gareth like to work for?"."""
    magda = ("Magda Crumb", "Magda", "Crumb")
    for line in ("Is Gareth around?", "Have you seen Gareth?"):
        assert asked_match(line, names=magda, aliases=Aliases(own=magda), asked=asked_of("magda")) is None, line
    found = asked_match("What is Gareth like to work for?", names=magda, aliases=Aliases(own=magda), asked=asked_of("magda"))
    assert found is not None and found.text == "What's Gareth like to work for?"


def test_the_cheapest_of_something__is_not_what_it_costs():
    """Gareth's drinks question is answered with the drinks and their prices; "the cheapest" asks which one."""
    gareth = ("Gareth Rusk", "Gareth", "Rusk")
    found = asked_match("What's the cheapest drink?", names=gareth, aliases=Aliases(own=gareth), asked=gareths_asked())
    assert found is None
    found = asked_match("What do your drinks cost me?", names=gareth, aliases=Aliases(own=gareth), asked=gareths_asked())
    assert found is not None and found.text == "What have you got to drink, and what does it cost?"


def test_what_the_npc_does__is_not_a_question_no_phrasing_asks_of_it():
    """"Are you leaving on the ferry?" asks Hal's plans, not the ferry's days: no phrasing asks of him."""
    question = "When do the ferries leave Thornbury?"
    ferries = Asked(questions=((question, ("When does the ferry go south?", "Which day do the ferries leave?",
                                           "How do I get south?", "When's the next ferry?",
                                           "Are the ferries running south?")),))
    assert hal("Are you leaving on the ferry?", ferries) is None
    assert hal("Are you taking the ferry south?", ferries) is None
    assert hal("When does the ferry leave?", ferries).key == asked_key(question)


def test_no_asked_questions__no_match():
    assert hal(PRICE, Asked()) is None


def test_a_question_that_is_a_canonical_one__keeps_the_canonical_key():
    """Its phrasings widen the canonical question, and both routes share one reply."""
    for line in (WORK, "Any work going?"):
        match = hal(line)
        assert match is not None and match.key == "q:work" and match.question == "work", line


@pytest.mark.django_db
def test_npc_definitions__carry_asked_as_plain_tuples_and_skip_malformed_entries():
    Npc.objects.create(slug="hal", name="Hal Ferrow", role="ferryman", asked=[
        {"question": f"  {PRICE} ", "phrasings": ["What's the fare?", " ", "How dear is the ferry?"]},
        "junk", {"phrasings": ["When's the last boat?"]}, {"question": LAST}, {"question": " ", "phrasings": []},
    ])
    (hal_def,) = [n for n in npc_definitions_all() if n.slug == "hal"]
    assert hal_def.asked == ((PRICE, ("What's the fare?", "How dear is the ferry?")), (LAST, ()))
    assert hash(Asked(questions=hal_def.asked))  # frozen all the way down: safe to pass into async code


@pytest.mark.django_db
def test_world_content_load__stores_every_npcs_asked_questions_from_the_world_file():
    world_content_load()
    shipped = {n["slug"]: n["asked"] for n in json.loads(WORLD_FILE.read_text())["npcs"]}
    stored = dict(Npc.objects.filter(slug__in=shipped).values_list("slug", "asked"))
    assert stored == shipped
    assert all(asked and all(q["question"] and q["phrasings"] for q in asked) for asked in shipped.values())
    defs = {n.slug: n.asked for n in npc_definitions_all()}
    assert {slug: [q for q, _ in defs[slug]] for slug in shipped} == {
        slug: [q["question"] for q in asked] for slug, asked in shipped.items()}


ROOM = "How much does a room cost for the night?"  # one of gareth's asked questions in the world file
ROOM_PRICE = "Eight gold a night, and the key opens the chest at the foot of the bed."
ROOM_UNWRITTEN = "how much do you want for a bed tonight?"


def final(frames: list[dict]) -> dict:
    return frames[-1]


@pytest.mark.django_db(transaction=True)
async def test_an_unwritten_phrasing_of_gareths_question__is_served_the_kept_reply(fake_llm, new_player):
    """The first asker's reply is kept under the question; a near question (paying later) is not it."""
    _, alice = await new_player()
    _, bob = await new_player()
    _, carol = await new_player()
    fake_llm.script(Reply(ROOM_PRICE), Reply("Tomorrow? Coin first, friend, that's the house rule."))
    first = await ask(alice, ROOM)
    assert final(first)["source"] == "llm" and final(first)["text"] == ROOM_PRICE

    written = {p.lower() for n in json.loads(WORLD_FILE.read_text())["npcs"] if n["slug"] == "gareth"
               for a in n["asked"] for p in (a["question"], *a["phrasings"])}
    assert ROOM_UNWRITTEN not in written
    second = await ask(bob, ROOM_UNWRITTEN)
    assert final(second)["type"] == "npc.end" and final(second)["source"] == "cache"
    assert final(second)["text"] == ROOM_PRICE and fake_llm.chat_count == 1

    near = await ask(carol, "Can I pay for my room tomorrow instead?")
    assert final(near)["source"] == "llm" and final(near)["text"] != ROOM_PRICE
    assert fake_llm.chat_count == 2


@pytest.mark.django_db(transaction=True)
async def test_a_paraphrase_asked_first__the_model_is_asked_the_question_text(fake_llm, new_player):
    """So the reply kept for the first asker fits every phrasing of the question."""
    _, alice = await new_player()
    _, bob = await new_player()
    fake_llm.script(Reply(ROOM_PRICE))
    await ask(alice, ROOM_UNWRITTEN)
    assert fake_llm.chat_requests[-1]["messages"][-1]["content"].endswith(ROOM)
    assert final(await ask(bob, "How dear are your rooms?"))["source"] == "cache"




NOTICES = "Who writes the notices on the board?"
NOTICES_ASKED = Asked(questions=((NOTICES, (
    "Did you write the notices?", "Is that your handwriting on the board?", "Can you write?", "Who wrote this notice?",
    "Do you write letters for people?", "Who puts up the notices?")),))
BOARD = Aliases(own=("Wren Abney", "Wren"), groups=(("thing:notice-board", ("notice board", "board", "noticeboard")),))


def test_a_line_asking_what__is_not_a_question_asked_with_who():
    """The first question word is the kind of question: what is on the board asks no "who" question,
    however near its words are."""
    def wren(line):
        return asked_match(line, names=("Wren Abney", "Wren"), aliases=BOARD, asked=NOTICES_ASKED)

    assert wren("who's been writing the notices on the board").key == asked_key(NOTICES)
    assert wren("what's on the notice board today") is None


DRINKS = "What have you got to drink, and what does it cost?"
DRINKS_ASKED = (DRINKS, ("What's there to drink?", "What can I drink here?", "What do your drinks cost?"))


def test_a_canonical_question_in_one_npc_questions_phrasings__is_that_question_for_the_npc():
    """The editors put the canonical drinks question under their own: for this NPC it is their question,
    so the two routes never split one question into two keys."""
    owner = asked_owner("drinks", asked=Asked(questions=(DRINKS_ASKED, PRICE_ASKED)))
    assert owner is not None and owner.key == asked_key(DRINKS) and owner.text == DRINKS
    assert asked_owner("food", asked=Asked(questions=(DRINKS_ASKED,))) is None  # nobody's phrasing asks it
    assert asked_owner("drinks", asked=FERRYMAN) is None  # no drinks question of Hal's


def test_a_canonical_question_in_two_npc_questions_phrasings__stays_canonical():
    """Which of the two it would be is unclear, and so is an NPC question whose own text is the canonical one."""
    ales = ("What ales have you got?", ("What's there to drink?", "Which ale is best?"))
    assert asked_owner("drinks", asked=Asked(questions=(DRINKS_ASKED, ales))) is None
    linked = ("What do you have to drink?", ("Got any ale?",))
    assert asked_owner("drinks", asked=Asked(questions=(DRINKS_ASKED, linked))) is None


@pytest.mark.django_db(transaction=True)
async def test_gareths_canonical_drinks_question__is_served_his_own_drinks_reply(fake_llm, new_player):
    """Gareth's editors wrote "What's there to drink?" under his drinks-and-prices question: the
    canonical route and his question's route share one reply, which the model made for his question."""
    _, alice = await new_player()
    _, bob = await new_player()
    fake_llm.script(Reply("Ale or cider, three gold. Wine's five."))
    first = await ask(alice, "What's there to drink?")
    assert final(first)["source"] == "llm"
    assert fake_llm.chat_requests[-1]["messages"][-1]["content"].endswith(DRINKS)
    second = await ask(bob, "Ale, wine: what's on offer?")  # a phrasing of his question, no canonical one
    assert final(second)["source"] == "cache" and final(second)["text"] == final(first)["text"]
