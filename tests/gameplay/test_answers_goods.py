"""What the house sells and what it costs, as the game answers (gameplay/answers_goods.py), and work
asked of an NPC who gives none (gameplay/answers.py)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from gameplay.answers import work_asked
from gameplay.answers_goods import (
    described_asked, described_said, described_words, games_asked, lodging_asked, lodging_said, prices_asked, prices_said, ranked_asked, ranked_said,
    recommended_asked, recommended_said,
)
from tests.gameplay.test_voice import command, ready, say
from tests.llm.fake_openai import Reply

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("line, said", [
    ("what would a glass of red and a honey cake set me back", "A glass of red wine is 5 gold, and a honey cake 2."),
    ("i need rope and a lantern, what's the damage", "A coil of rope is 3 gold, and a shuttered lantern 5."),
    ("r candles expensive?", "A tallow candle is 1 gold."),
    ("Is the ale good?", ""),  # no price asked
])
def test_prices_asked__in_a_players_own_words(world, line, said):
    assert prices_said(prices_asked(world, line)) == said


class _Plan:
    def __init__(self, line: str, place: str = "The Common Room"):
        self.line = line
        self.situation = SimpleNamespace(place=place)


@pytest.mark.parametrize("line, npc, said", [
    ("wots the cheapest thing to eat here", "gareth", "The cheapest is a plate of cheese and pickle, at 3 gold."),
    ("whats the most expensive thing you sell", "quince", "The dearest is a humming shell, at 7 gold."),
    ("whats your cheapest thing", "quince", "The cheapest is a coil of rope, at 3 gold."),  # the merchant's own wares
    ("what's worth drinking here that won't empty my purse", "gareth", "The cheapest is a cup of cider, at 3 gold."),
    ("what's the cheapest drink?", "gareth", "The cheapest is a cup of cider, at 3 gold."),  # herb tea is the kitchen's
    ("whats cheaper here, wine or rustgut?", "wren", "The cheaper is a glass of red wine, at 5 gold."),  # of the two named
    ("which is dearer, the pie or the stew", "gareth", "The dearer is a bowl of mutton stew, at 5 gold."),
])
def test_ranked__the_cheapest_or_dearest_thing_asked_for(world, line, npc, said):
    item = ranked_asked(world, _Plan(line), world.npcs[npc])
    from gameplay.answers_goods import cheapest_asked

    assert item is not None and ranked_said(item, cheapest=cheapest_asked(line), line=line) == said


@pytest.mark.parametrize("line, npc, place, named", [
    ("evening. what's good here?", "gareth", "The Common Room", ["bowl of mutton stew", "mug of ale"]),
    ("what would you recommend?", "gareth", "The Common Room", ["bowl of mutton stew", "mug of ale"]),
    ("whats the best thing to eat", "wren", "The Common Room", ["bowl of mutton stew"]),  # the house's, not her own
    ("anything worth drinking?", "gareth", "The Common Room", ["mug of ale"]),
    ("what should I have?", "magda", "The Kitchen", ["honey cake", "mug of herb tea"]),
    ("what do you recommend", "quince", "The Common Room", ["humming shell"]),  # a merchant's own wares
    ("what's the tastiest thing you sell?", "vesna", "The Gambling Den", ["lucky coin"]),
])
def test_recommended__what_is_good_here_names_what_the_world_marks_of_each_kind_sold_there(world, line, npc, place, named):
    items = recommended_asked(world, _Plan(line, place), world.npcs[npc])
    assert [item.name for item in items] == named
    said = recommended_said(items, world.npcs[npc])
    assert said.startswith(f"Try the {named[0]}, ") and "Magda's" not in said * (npc == "magda")


@pytest.mark.parametrize("line", [
    "what's good about Brackwater?", "who would you recommend for the job?", "what's the best way to the ferry?",
    "what should I do?", "is the ale good?", "good evening",
])
def test_recommended__lines_that_ask_no_recommendation(world, line):
    assert recommended_asked(world, _Plan(line), world.npcs["gareth"]) == ()


@pytest.mark.parametrize("line, slug", [
    ("what's in the stew?", "mutton-stew"), ("is the ale any good?", "ale"), ("what's rustgut like?", "rustgut"),
    ("tell me about the humming shell", "humming-shell"), ("how's the cider?", "cider"), ("what kind of rope is it", "rope"),
    ("what's your line?", None),  # an alias that is a common word
    ("tell me about the missing tankard", None),  # never sold: the mystery's
    ("the stew was good", None), ("is the ale 3 gold?", None),
    ("what's in the § and the stew was good", None),  # the shapes' marker, typed by the player
])
def test_described__a_thing_sold_asked_about_is_its_description(world, line, slug):
    item = described_asked(world, line)
    assert (item.slug if item else None) == slug
    if item is not None:
        assert described_said(item, world.npcs["magda"]).endswith(f" {item.price} gold, the {item.name}.")
        assert described_words(item, line) and not set(described_words(item, line)) & set(line.lower().split())


@pytest.mark.parametrize("npc, line, said", [
    ("amos", "can I buy you a drink, old timer?", "A drink? Young 'un, you're a credit to your mother. Ale, if you're asking. "
                                                  "Rustgut, if you're feeling generous. Say 'buy ale for amos'."),  # his own words
    ("varr", "fancy a glass of wine, captain?", "Kind of you. A glass of red wine wouldn't go amiss. Say 'buy wine for varr'."),
    ("gareth", "I'll stand you a pint", "Kind of you. A mug of ale wouldn't go amiss. Say 'buy ale for gareth'."),  # not his menu
    ("amos", "would you like to hear a story?", None), ("tobias", "do you want one of these?", None),
])
def test_offered_drink__the_npc_takes_it_and_says_how_to_stand_it(world, npc, line, said):
    from gameplay.answers_goods import offered_drink, offered_said

    drink = offered_drink(world, _Plan(line), world.npcs[npc])
    assert (offered_said(drink, world.npcs[npc]) if drink else None) == said


async def test_say__a_drink_offered__a_reply_that_takes_nothing_is_not_shown(fake_llm, session_cookie):
    _, cookie = session_cookie
    fake_llm.script(Reply("I am not here. I have no idea how to make a drink."))
    comm = await ready(cookie)
    end = (await say(comm, "would you like a cider, Wren?", npc="wren", cid="d1"))[-1]
    assert end["source"] == "fallback" and end["text"] == "Kind of you. A cup of cider wouldn't go amiss. Say 'buy cider for wren'.", end
    end = (await command(comm, "buy cider for wren", "d2"))[-1]
    assert "Wren" in end["text"] and "3 gold" in end["text"], end
    await comm.disconnect()


def test_ranked__a_line_asking_no_such_thing(world):
    assert ranked_asked(world, _Plan("what's your best ale?"), world.npcs["gareth"]) is None


@pytest.mark.parametrize("line, asked", [
    ("how do i get a key to a room", True),
    ("can i leave my stuff somewhere safe while i look around?", True),
    ("where can I sleep tonight", True),
    ("i need a bed for the night", True),
    ("how do i get to my room", False),  # the way there
    ("where's the common room", False),
    ("the room is cold", False),
])
def test_lodging_asked(line, asked):
    assert lodging_asked(line) is asked


def test_lodging_said__who_lets_the_rooms(world):
    assert lodging_said(world, world.npcs["wren"]) == ("A room upstairs is 8 gold a night, with a stout chest for your things: "
                                                       "say 'rent a room' to Gareth at the bar.")
    assert lodging_said(world, world.npcs["gareth"]).endswith("say 'rent a room' to me.")


def test_games_asked__the_easiest_game():
    assert games_asked("whats the easiest game for a beginner")
    assert not games_asked("that was a good game of cards last night")


def test_work_asked__in_a_players_own_words():
    assert all(map(work_asked, ["i could help out in the kitchen if you pay me", "anything i can do to help? i need coin",
                                "I'm broke, can I lend a hand?", "do you need a hand back here? i'm short on coin",
                                "how does a fellow make a bit of money round here?"]))
    assert not any(map(work_asked, ["I could do with a drink", "the coin is on the table"]))



@pytest.mark.parametrize("line, asked", [
    ("who's in charge around here", True),
    ("who owns this place?", True),
    ("who runs the card room", False),  # Vesna's, not the house's owner
    ("who built this place", False),
])
def test_owner_asked(line, asked):
    from gameplay.answers_people import owner_asked

    assert owner_asked(line) is asked


@pytest.mark.parametrize("line, asked", [
    ("who works here?", True), ("who are the regulars here?", True), ("who should I talk to?", True),
    ("tell me about the people here", True), ("who's who?", True), ("what are the locals like?", True),
    ("who works the den?", False), ("who are you?", False), ("who took the tankard?", False), ("who should I ask about the rats?", False),
])
def test_people_asked(line, asked):
    from gameplay.answers_people import people_asked

    assert people_asked(line) is asked


def test_people_told__the_npcs_own_words_naming_them_else_who_they_are(world):
    from gameplay.answers_people import people_told

    plan = SimpleNamespace(tier="stranger")
    said, words = people_told(world, plan, world.npcs["gareth"])
    assert said.startswith("Wren waits tables") and "Amos has been sitting" in said and {"Wren", "Magda", "Amos"} <= set(words)
    bare = world.npcs["gareth"].__class__(**{**world.npcs["gareth"].__dict__, "topics": ()})
    said, words = people_told(world, plan, bare)
    assert said.startswith("Under this roof you'll meet Amos Fennick, the old regular; Magda Crumb, the cook;")
    assert said.endswith("; and Wren Abney, the serving maid.") and "Gareth" not in said


def test_owner_said__by_the_role_the_world_gives(world):
    from gameplay.answers_people import owner_said

    assert owner_said(world, world.npcs["wren"])[0] == "That's Gareth Rusk, the barkeep and owner."
    assert owner_said(world, world.npcs["gareth"])[0] == "That's me: Gareth Rusk, the barkeep and owner."


@pytest.mark.parametrize("line", ["what does a night here run me", "i'm knackered, is there anywhere i can kip?",
                                  "is there somewhere i could wash up and sleep?"])
def test_lodging_asked__in_a_players_own_words(line):
    assert lodging_asked(line)


def test_games_asked__the_least_stake():
    assert games_asked("whats the least i can put down")


async def test_say__a_price_asked_of_what_was_spoken_of_just_before(fake_llm, session_cookie):
    """ "And how much would that be?" hangs on the line before: the room, or the thing it named."""
    _, cookie = session_cookie
    fake_llm.script(*[Reply("The three steps up, you say?")] * 6)
    comm = await ready(cookie)
    await say(comm, "is there somewhere i could wash up and sleep?", npc="wren", cid="a1")
    end = (await say(comm, "and how much would that be", npc="wren", cid="a2"))[-1]
    assert end["source"] == "fallback" and end["text"].startswith("A room upstairs is 8 gold a night"), end
    await say(comm, "do you sell ale here?", npc="gareth", cid="b1")
    end = (await say(comm, "how much is it?", npc="gareth", cid="b2"))[-1]
    assert end["source"] == "fallback" and end["text"] == "A mug of ale is 3 gold.", end
    await comm.disconnect()



@pytest.mark.parametrize("line, npc, said", [
    ("hi, i need poison for the rats", "magda", "A twist of rat poison is 2 gold: say 'buy poison'."),
    ("can i get a candle? the landing's dark", "gareth", "A tallow candle is 1 gold: say 'buy light'."),
    ("i need poison for the rats", "gareth", "A twist of rat poison is 2 gold, from Magda in the Kitchen."),
])
def test_wanted__a_thing_the_player_wants_and_who_sells_it(world, line, npc, said):
    from gameplay.answers_goods import wanted_asked, wanted_said

    assert wanted_said(world, wanted_asked(world, line), world.npcs[npc]) == said


@pytest.mark.parametrize("line", ["how much is the poison?", "can i buy you an ale?", "i need a rest", "do you have a minute?"])
def test_wanted__nothing_wanted(world, line):
    from gameplay.answers_goods import wanted_asked

    assert wanted_asked(world, line) == ()


def test_goods_asked__a_question_after_a_greeting():
    from gameplay.answers_goods import goods_asked

    assert goods_asked("evening! what can a tired traveller get to eat round here") == "food"


def test_wanted__money_is_not_the_lucky_coin(world):
    from gameplay.answers_goods import wanted_asked

    assert wanted_asked(world, "i need coin, any work?") == ()
    assert [i.slug for i in wanted_asked(world, "i need a lucky coin for amos")] == ["lucky-coin"]


@pytest.mark.parametrize("line, asked", [
    ("hi! im new here, what should i do first?", True),
    ("where do i start?", True),
    ("any tips for a newcomer?", True),
    ("what should i drink?", False),
    ("what do you do here?", False),
])
def test_guidance_asked__a_newcomer_asking_what_to_do(line, asked):
    from gameplay.answers import guidance_asked

    assert guidance_asked(line) is asked


@pytest.mark.parametrize("commands, npc, line, said", [
    # work asked of one who gives none is said as its giver's (Amos comes in at ten)
    (["wait 2"], "amos", "anything i can do to help? i need coin", "There's work to be had: to wait tables, for 10 gold (ask Gareth)"),
    ([], "gareth", "how do i get a key to a room", "A room upstairs is 8 gold a night"),
    ([], "gareth", "hi! im new here, what should i do first?", "Sit and have a drink, ask after work ('jobs'), or look at the notice board"),
    ([], "gareth", "tell me about the rats then", "'Rats in the Cellar': buy a twist of rat poison from Magda"),
])
async def test_say__the_game_answers_when_the_model_does_not(fake_llm, session_cookie, commands, npc, line, said):
    _, cookie = session_cookie
    fake_llm.script(Reply("To get a key to your room, you need to find the lock."))
    comm = await ready(cookie)
    for n, text in enumerate(commands):
        await command(comm, text, f"c{n}")
    end = (await say(comm, line, npc=npc, cid="s1"))[-1]
    assert end["source"] == "fallback" and end["text"].startswith(said), end
    await comm.disconnect()


@pytest.mark.parametrize("line, npc, title", [
    ("tell me about the rats then", "gareth", "Rats in the Cellar"),
    ("what do you need doing about the landing lights?", "wren", "Lights on the Landing"),
    ("tell me about the cellar", "gareth", None),  # the place
    ("tell me about the rats", "wren", None),  # Gareth's notice, not hers
    ("what are the rats like?", "gareth", None),  # not asked about
])
def test_notice_asked__the_givers_own_notice(world, line, npc, title):
    from gameplay.answers import notice_asked

    plan = SimpleNamespace(line=line, tasks=(), tier="stranger")
    found = notice_asked(world, plan, world.npcs[npc])
    assert (found.title if found else None) == title


def test_notice_said__what_it_asks_in_the_givers_voice(world):
    from gameplay.answers import notice_said

    plan = SimpleNamespace(line="tell me about the rats then", tasks=(), tier="stranger")
    said, words = notice_said(world.bounties["rats-in-the-cellar"], world.npcs["gareth"], plan)
    assert said == ("'Rats in the Cellar': buy a twist of rat poison from Magda in the kitchen, then lay the poison by the rat "
                    "holes in the cellar. 15 gold for it: say 'accept rats in the cellar' to take it on.")
    assert "15" in words
    said, _ = notice_said(world.bounties["eyes-on-the-tables"], world.npcs["varr"], plan)
    assert said.startswith("'Eyes on the Tables' is for folk I know better")
