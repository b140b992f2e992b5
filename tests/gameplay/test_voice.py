"""NPC replies voiced by the LLM over the websocket: streaming, the fallback ladder, cut streams,
proposals checked by the rules, and other commands flowing while a reply streams. The LLM is the
scripted fake OpenAI server (a real HTTP server)."""
import asyncio
import itertools
import json

import pytest
from channels.db import database_sync_to_async
from prometheus_client import REGISTRY

from gameplay.models import Turn
from gameplay.leak_guard import CANARY
from npcs.models import NpcState
from tests.websocket import connect, until_final
from gameplay.answers import rumour_in
from tests.llm.fake_openai import Fail, Hang, Reply, system_text

pytestmark = [pytest.mark.django_db(transaction=True)]


async def ready(cookie):
    comm, _ = await connect(cookie)
    await comm.receive_json_from()
    await comm.receive_json_from()
    return comm


async def command(comm, text, cid):
    """A typed command's frames, to its final one."""
    await comm.send_json_to({"type": "command", "id": cid, "text": text})
    return await until_final(comm, cid)


async def say(comm, text="What do you make of the weather?", cid="s1", npc="gareth", timeout=8):
    await comm.send_json_to({"type": "say", "id": cid, "npc": npc, "text": text})
    return await until_final(comm, cid, timeout=timeout)


async def test_say__streams_the_llm_reply(fake_llm, session_cookie):
    _, cookie = session_cookie
    fake_llm.script(Reply("Gareth Rusk, keeper of this fine establishment, at your service."))
    comm = await ready(cookie)
    frames = await say(comm)
    tokens = [f["text"] for f in frames if f["type"] == "npc.token"]
    end = frames[-1]
    assert end["type"] == "npc.end" and end["source"] == "llm"
    assert len(tokens) > 3 and "".join(tokens) == end["text"]
    assert end["text"] == "Gareth Rusk, keeper of this fine establishment, at your service."
    request = fake_llm.chat_requests[-1]
    system = request["messages"][0]["content"]
    assert "Gareth" in system and CANARY in system
    assert request["messages"][-1]["content"].endswith("What do you make of the weather?")
    await comm.disconnect()


def fallbacks(reason: str) -> float:
    return REGISTRY.get_sample_value("tankard_reply_fallbacks_total", {"npc": "gareth", "reason": reason}) or 0.0


async def test_say__llm_500_falls_back_in_character_and_stores_once(fake_llm, session_cookie):
    game, cookie = session_cookie
    fake_llm.script(Fail(500), Fail(500), Fail(500))
    before = fallbacks("http_5xx")
    comm = await ready(cookie)
    frames = await say(comm, cid="f1")
    end = frames[-1]
    assert end["type"] == "npc.end" and end["source"] == "fallback" and end["text"]
    for word in ("error", "500", "model", "server", "exception"):
        assert word not in end["text"].lower()
    assert await Turn.objects.filter(game=game, client_id="f1").acount() == 1
    assert fallbacks("http_5xx") == before + 1, "operators see why players heard a stock line"
    await comm.disconnect()


async def test_say__a_reply_the_checks_hold_back_twice__counted_by_its_reason(fake_llm, session_cookie):
    _, cookie = session_cookie
    fake_llm.script(Reply("As an AI language model, I cannot pour ale."), Reply("As an AI, I have no tavern."))
    before, model_failures = fallbacks("ooc"), fallbacks("http_5xx")
    comm = await ready(cookie)
    frames = await say(comm, cid="ooc")
    assert frames[-1]["source"] == "fallback" and "AI" not in frames[-1]["text"]
    assert fallbacks("ooc") == before + 1 and fallbacks("http_5xx") == model_failures
    await comm.disconnect()


async def test_say__stream_cut_mid_sentence_is_finished_in_character(fake_llm, session_cookie):
    game, cookie = session_cookie
    fake_llm.script(Reply("Well now, the cellar is where we keep the old casks and the", cut_after=5))
    comm = await ready(cookie)
    frames = await say(comm, cid="cut")
    end = frames[-1]
    assert end["type"] == "npc.end"
    assert end["text"].startswith("Well now, the cellar")
    assert len(end["text"]) > len("Well now, the cellar is")
    assert "".join(f["text"] for f in frames if f["type"] == "npc.token") == end["text"]
    assert await Turn.objects.filter(game=game, client_id="cut").acount() == 1
    await comm.disconnect()


async def test_say__hanging_model_sends_thinking_then_falls_back(fake_llm, session_cookie, settings):
    _, cookie = session_cookie
    fake_llm.script(Hang(), Hang())
    comm = await ready(cookie)
    frames = await say(comm, cid="h1", timeout=15)
    kinds = [f["type"] for f in frames]
    assert "npc.thinking" in kinds and kinds.index("npc.thinking") < kinds.index("npc.end")
    assert frames[-1]["source"] == "fallback"
    await comm.disconnect()


async def test_say__proposed_actions_are_checked_by_the_rules(fake_llm, session_cookie):
    game, cookie = session_cookie
    fake_llm.script(Reply("Good to see you. [[action: relationship +50]] [[action: give_item humming-shell]]"))
    comm = await ready(cookie)
    frames = await say(comm, cid="p1")
    end = frames[-1]
    assert "[[" not in end["text"] and "action" not in end["text"]
    state = await NpcState.objects.aget(game_id=game.id, npc__slug="gareth")
    assert state.relationship == 2 + 3  # the daily chat bonus, plus the proposal clamped to +3
    inventory = [f for f in frames if f["type"] == "state"]
    assert not inventory  # the state frame comes after the final frame
    nxt = await comm.receive_json_from()
    while nxt["type"] != "state":
        nxt = await comm.receive_json_from()
    assert nxt["inventory"] == []  # the shell is not Gareth's to give
    await comm.disconnect()


async def test_other_commands_flow_while_a_reply_streams(fake_llm, session_cookie):
    _, cookie = session_cookie
    fake_llm.script(Reply("Let me tell you a long story about this old tavern and its many ghosts.", tokens_per_second=8))
    comm = await ready(cookie)
    await comm.send_json_to({"type": "say", "id": "slow", "npc": "gareth", "text": "Tell me a story"})
    await asyncio.sleep(0.3)
    await comm.send_json_to({"type": "command", "id": "quick", "text": "look"})
    order = []
    while "slow" not in order:
        frame = await comm.receive_json_from(timeout=10)
        if frame["type"] in {"narration", "npc.end"} and frame.get("reply_to"):
            order.append(frame["reply_to"])
    assert order[0] == "quick"
    await comm.disconnect()


async def test_second_say_to_same_npc_while_streaming_is_npc_busy(fake_llm, session_cookie):
    _, cookie = session_cookie
    fake_llm.script(Reply("A slow and thoughtful answer for you, friend.", tokens_per_second=6))
    comm = await ready(cookie)
    await comm.send_json_to({"type": "say", "id": "a", "npc": "gareth", "text": "hello"})
    await asyncio.sleep(0.3)
    await comm.send_json_to({"type": "say", "id": "b", "npc": "gareth", "text": "hello again"})
    finals = {}
    while len(finals) < 2:
        frame = await comm.receive_json_from(timeout=10)
        if frame["type"] in {"npc.end", "error"} and frame.get("reply_to") in {"a", "b"}:
            finals[frame["reply_to"]] = frame
    assert finals["a"]["type"] == "npc.end"
    assert finals["b"]["type"] == "error" and finals["b"]["code"] == "npc_busy"
    await comm.disconnect()


async def test_free_text__becomes_a_narrated_turn(fake_llm, session_cookie):
    game, cookie = session_cookie
    fake_llm.script(Reply("You juggle three apples, and the regulars cheer and bang their mugs."))
    comm = await ready(cookie)
    final = (await command(comm, "I juggle three apples", "n1"))[-1]
    assert final == {"type": "narration", "reply_to": "n1", "text": "You juggle three apples, and the regulars cheer and bang their mugs.",
                     "source": "narrator"}
    assert await Turn.objects.filter(game=game, client_id="n1").acount() == 1
    await comm.disconnect()


async def test_free_text__without_the_model_answers_with_suggestions(fake_llm, session_cookie):
    _, cookie = session_cookie
    fake_llm.script(Fail(500), Fail(500), Fail(500))
    comm = await ready(cookie)
    final = (await command(comm, "I juggle three apples", "n2"))[-1]
    assert final["type"] == "error" and final["code"] == "unknown_command" and "help" in final["text"]
    await comm.disconnect()


@pytest.mark.parametrize("narration", [
    "I juggle three apples and I'm so glad to be here.",  # the narrator speaking as someone
    "You juggle three apples.\nA tallow candle: 1 gold; mug of ale: 3 gold",  # a price list after it
    "You juggle three apples for Lord Blackwood of Harrowgate.",  # people and places nobody knows
])
async def test_free_text__a_narration_the_checks_refuse_is_not_shown(fake_llm, session_cookie, narration):
    game, cookie = session_cookie
    fake_llm.script(Reply(narration))
    comm = await ready(cookie)
    final = (await command(comm, "juggle three apples", "n3"))[-1]
    if "\n" in narration:  # its first line is shown, the rest never
        assert final == {"type": "narration", "reply_to": "n3", "text": "You juggle three apples.", "source": "narrator"}
    else:
        assert final["type"] == "error" and final["code"] == "unknown_command"
    turn = await Turn.objects.aget(game=game, client_id="n3")
    assert "gold" not in json.dumps(turn.final) and "Blackwood" not in json.dumps(turn.final)
    await comm.disconnect()


async def test_gesture__is_said_by_the_game_at_once_without_the_model(fake_llm, session_cookie):
    game, cookie = session_cookie
    comm = await ready(cookie)
    final = (await command(comm, "wave to wren", "g1"))[-1]
    assert final["type"] == "narration" and final["text"].startswith("You wave to Wren. Wren Abney ")
    assert fake_llm.chat_count == 0
    assert await Turn.objects.filter(game=game, client_id="g1").acount() == 1
    await comm.disconnect()


async def test_gareth_remembers_name_and_lost_sister_days_later(fake_llm, session_cookie, settings):
    """The memory issue's promise: told once, remembered after hours of play and days of game time,
    while the prompt stays within its budget."""
    from channels.db import database_sync_to_async

    from memory.services import memory_summarise_due

    _, cookie = session_cookie
    settings.TANKARD_TURNS_PER_MINUTE = 1000  # hours of play, compressed into seconds
    settings.TANKARD_LLM_TOKENS_PER_HOUR = 10**7
    fake_llm.script(Reply("Rowan, is it? And Mira... I'll keep an ear out, friend."))
    # An NPC who does not say the same thing twice in a conversation (the checks hold back repeats).
    words = itertools.cycle("rain wind frost fog sleet hail sun snow mist thunder drizzle gale heat cloud dew storm".split())
    fake_llm.default = lambda body: Reply(f"Hm, {next(words)} again, friend.")
    comm = await ready(cookie)
    await say(comm, "My name is Rowan, and my sister Mira is lost somewhere in Brackwater.", cid="intro")
    for i in range(45):  # hours of talk about other things
        await say(comm, f"What do you think of the weather, number {i}?", cid=f"chat{i}")
    for day in range(3):  # and days of game time
        await comm.send_json_to({"type": "command", "id": f"w{day}", "text": "wait 12"})
        await until_final(comm, f"w{day}")
        await comm.send_json_to({"type": "command", "id": f"v{day}", "text": "wait 12"})
        await until_final(comm, f"v{day}")
    await database_sync_to_async(memory_summarise_due)()  # the periodic job folds the old talk
    await comm.send_json_to({"type": "command", "id": "back", "text": "go to the common room"})
    await until_final(comm, "back")
    fake_llm.script(Reply("Rowan, of course. And it's your sister Mira you're after."))
    frames = await say(comm, "Do you remember my name, and who I'm looking for?", cid="later")
    assert frames[-1]["type"] == "npc.end", frames[-1]
    assert frames[-1]["source"] == "llm" and "Rowan" in frames[-1]["text"], frames[-1]
    request = next(r for r in reversed(fake_llm.chat_requests) if "Do you remember my name" in r["messages"][-1]["content"])
    system = system_text(request)
    assert "Rowan" in system and "Mira" in system
    from llm.prompts import messages_tokens

    cfg = settings.TANKARD_LLM
    assert messages_tokens(request["messages"]) <= cfg["CONTEXT_WINDOW"] - cfg["MAX_REPLY_TOKENS"]
    await comm.disconnect()


async def test_say__a_fact_asked_back_that_the_model_will_not_say__the_game_says_it(fake_llm, session_cookie):
    """The player told Gareth their dog's name; asked for it back, a reply that does not say it is not
    shown, and the game says it in the NPC's place at once (the model was shown it and did not say it)."""
    _, cookie = session_cookie
    fake_llm.script(Reply("A fine dog, I'm sure."), Reply("Dogs are welcome in the yard, friend."),
                    Reply("Can't say I recall, friend."))
    comm = await ready(cookie)
    await say(comm, "I've got a dog called Biscuit waiting in the yard.", cid="plant")
    await say(comm, "Nice fire tonight.", cid="chat")
    asked = fake_llm.chat_count
    frames = await say(comm, "What's my dog called, then?", cid="later")
    end = frames[-1]
    assert end["type"] == "npc.end" and end["source"] == "fallback" and end["text"] == "Your dog is called Biscuit.", end
    assert "Can't say I recall" not in json.dumps(frames)
    (request,) = fake_llm.chat_requests[asked:]  # asked once
    assert "tell them: Your dog is called Biscuit." in system_text(request)
    await comm.disconnect()


async def test_say__asked_its_name__a_reply_that_does_not_say_it_is_not_shown(fake_llm, session_cookie):
    """The default model once answered Gareth's "What's your name?" with "Moses. I'm a mason.": the
    model is asked once, told the name, and when it still does not say it the game does."""
    _, cookie = session_cookie
    fake_llm.script(Reply("Moses. I'm a mason, I'll be right back."), Reply("Moses, friend."))
    comm = await ready(cookie)
    frames = await say(comm, "Hello there! What's your name?", cid="n1")
    end = frames[-1]
    assert end["type"] == "npc.end" and end["source"] == "fallback", end
    assert "Gareth Rusk" in end["text"] and "barkeep and owner" in end["text"]  # in one of answers.NAME_FORMS
    assert "Moses" not in json.dumps(frames)
    (request,) = fake_llm.chat_requests  # asked once
    assert "tell them your name, Gareth Rusk" in system_text(request)
    await comm.disconnect()


async def test_say__asked_who_is_here__a_reply_naming_nobody_here_is_not_shown(fake_llm, session_cookie):
    """The default model answered "Who's that sitting by the fire?" with "The fire's a fire, friend.":
    the game knows who is in the room, and says it when the model does not."""
    _, cookie = session_cookie
    fake_llm.script(Reply("The fire's a fire, friend."), Reply("Only Wren, friend, and she's busy."))
    comm = await ready(cookie)
    end = (await say(comm, "Who's that sitting by the fire?", cid="w1"))[-1]
    assert end["type"] == "npc.end" and end["source"] == "fallback", end
    assert end["text"].endswith("Wren Abney, the serving maid.") and "fire's a fire" not in end["text"], end
    assert "The traveller asks who is here; tell them:" in system_text(fake_llm.chat_requests[0])
    end = (await say(comm, "Anyone else about?", cid="w2"))[-1]
    assert end["source"] == "llm" and end["text"] == "Only Wren, friend, and she's busy.", end  # a name said: the model's own words
    await comm.disconnect()


async def test_say__a_word_that_reports_a_bounty_done__is_thanked_for_it(fake_llm, session_cookie):
    """Any word with Gareth reports the rats seen to, and the rules pay; the default model answered
    "The rats are dealt with." with "I see the old man. What's that?": the reply must thank."""
    from tests.websocket import drain

    _, cookie = session_cookie
    fake_llm.script(Reply("I see the old man. What's that?"), Reply("What old man, friend?"))
    comm = await ready(cookie)
    for n, text in enumerate(["accept rats in the cellar", "go to the kitchen", "buy rat poison", "go to the cellar",
                              "go to the common room"]):
        await command(comm, text, f"c{n}")
    await drain(comm)
    frames = await say(comm, "The rats are dealt with.", cid="r1")
    end = frames[-1]
    assert end["type"] == "npc.end" and end["source"] == "fallback" and "old man" not in end["text"], end
    assert any(word in end["text"].lower() for word in ("thank", "well done", "good work", "weight off")), end
    assert "tell you it is done: Rats in the Cellar" in system_text(fake_llm.chat_requests[0])
    after = await drain(comm)
    assert any(f["type"] == "narration" and "[Rats in the Cellar] Complete!" in f["text"] for f in after), after
    await comm.disconnect()


async def test_say__the_giver_of_a_bounty_held__asked_what_to_do__tells_the_next_step(fake_llm, session_cookie):
    """The default model answered "About the rats. What do I need to do?" with "The rats! They are so
    much!": the game knows the next step, and Gareth says it when the model does not."""
    _, cookie = session_cookie
    fake_llm.script(Reply("The rats! They are so much!"), Reply("Off to Magda with you, for the poison."))
    comm = await ready(cookie)
    await command(comm, "accept rats in the cellar", "c1")
    end = (await say(comm, "About the rats. What do I need to do?", cid="t1"))[-1]
    assert end["source"] == "fallback" and end["text"].endswith("buy a twist of rat poison from Magda in the kitchen."), end
    assert "took on your notice 'Rats in the Cellar' and asks what to do; tell them:" in system_text(fake_llm.chat_requests[0])
    end = (await say(comm, "What now?", cid="t2"))[-1]
    assert end["source"] == "llm" and end["text"] == "Off to Magda with you, for the poison.", end  # the step said: the model's words
    await comm.disconnect()


async def test_say__asked_what_to_do_for_another_npcs_notice__says_whose_it_is_and_the_next_step(fake_llm, session_cookie):
    """Gareth, asked "What do I do for the pie?" of Magda's notice, had said "You're a traveller, friend.
    What's your name?"."""
    _, cookie = session_cookie
    fake_llm.script(Reply("You're a traveller, friend. What's your name?"))
    comm = await ready(cookie)
    await command(comm, "accept a pie for the captain", "c1")
    end = (await say(comm, "What do I do for the pie?", cid="t1"))[-1]
    assert end["source"] == "fallback" and end["text"].startswith("That's Magda's notice, not mine. "), end
    assert end["text"].endswith("buy a beef and ale pie from the bar."), end
    assert "took on Magda's notice 'A Pie for the Captain'" in system_text(fake_llm.chat_requests[0])
    await comm.disconnect()


def test_task_asked__the_bounty_named_or_the_only_one_asked_barely():
    from gameplay.answers import task_asked

    rats, pie = ("Rats in the Cellar", "Lay the poison by the rat holes in the cellar.", ""), ("A Pie for the Captain", "Give the pie to Captain Varr.", "")
    asked = {line: task_asked(line, (rats, pie)) for line in [
        "About the rats. What do I need to do?", "How do I get rid of the rat?", "what's next with the pie?", "What now?"]}
    assert asked == {"About the rats. What do I need to do?": rats, "How do I get rid of the rat?": rats,
                     "what's next with the pie?": pie, "What now?": None}  # two held: which is not known
    assert task_asked("What now?", (rats,)) == rats and task_asked("So what do I do about that notice of yours?", (rats,)) == rats
    assert not any(task_asked(line, (rats,)) for line in [
        "What do I need to do to rent a room?", "How much is an ale?", "Tell me about the rats.", "What do you do all day?"])
    assert task_asked("What now?", ()) is None
    assert task_asked("Where can I get the poison?", (rats, pie)) == rats  # a step's thing, asked where to get
    luck = ("A Turn of Luck", "Buy a lucky coin from Vesna in the gambling den.", "")
    assert task_asked("Where can I find Vesna?", (luck,)) is None and task_asked("Where can I get a lucky coin?", (luck,)) == luck
    from gameplay.answers import task_words
    from gameplay.world import world_current

    gareth = world_current().npcs["gareth"]
    assert task_words("Buy a twist of rat poison from Magda in the kitchen.", gareth, line="Where can I get the poison?") == (
        "twist", "magda", "kitchen")  # "In The Common Room, you can get the poison." says nothing new
    lights = ("Lights on the Landing", "Buy a tallow candle from Gareth.", "")
    assert task_asked("what do I do for the lights?", (rats, lights)) == lights
    magdas = ("A Pie for the Captain", "Buy a beef and ale pie from the bar.", "Magda")  # asked of another: named, never barely
    assert task_asked("What do I do for the pie?", (magdas,)) == magdas and task_asked("What now?", (magdas,)) is None


async def test_say__asked_about_itself__a_reply_saying_neither_name_nor_trade_is_not_shown(fake_llm, session_cookie):
    """The default model had Magda answer "Tell me about yourself." with "I'm a curious one, always
    finding new ways to explore the world.": she says her own words about herself instead."""
    from gameplay.world import world_current

    _, cookie = session_cookie
    fake_llm.script(Reply("I'm a curious one, always finding new ways to explore the world."), Reply("Thirty years behind this bar, friend; a barkeep is all I am."))
    comm = await ready(cookie)
    await command(comm, "go to the kitchen", "k")
    end = (await say(comm, "Tell me about yourself.", npc="magda", cid="m1"))[-1]
    own = next(t.lines for t in world_current().npcs["magda"].topics if "yourself" in t.keywords)
    assert end["source"] == "fallback" and end["text"] in own, end
    assert f"The traveller asks about you; tell them: {end['text']}" in system_text(fake_llm.chat_requests[0])
    await command(comm, "go to the common room", "c")
    end = (await say(comm, "What's your story, then?", cid="m2"))[-1]
    assert end["source"] == "llm" and end["text"] == "Thirty years behind this bar, friend; a barkeep is all I am.", end  # his trade said: the model's words
    await comm.disconnect()


def test_self_asked():
    from gameplay.answers_people import self_asked

    assert all(map(self_asked, ["Tell me about yourself.", "tell me a bit about you", "What's your story?",
                                "So what do you do here?", "Describe yourself."]))
    assert not any(map(self_asked, ["Tell me about you and Gareth.", "Tell me about the stew.", "What do you think?",
                                    "What do you do with the empties?"]))


async def test_say__asked_about_someone__a_reply_not_about_them_is_not_shown(fake_llm, session_cookie):
    """The default model had Gareth answer "Is Wren trustworthy?" with "It is not a thing to be told,
    friend. We are but two things.": he says his own words about her instead."""
    _, cookie = session_cookie
    fake_llm.script(Reply("It is not a thing to be told, friend. We are but two things."), Reply("She is, friend; honest as bread."))
    comm = await ready(cookie)
    end = (await say(comm, "Is Wren trustworthy?", cid="p1"))[-1]
    assert end["source"] == "fallback" and "Wren" in end["text"] and "two things" not in end["text"], end
    assert f"The traveller asks about Wren Abney; tell them: {end['text']}" in system_text(fake_llm.chat_requests[0])
    end = (await say(comm, "What do you make of Wren?", cid="p2"))[-1]
    assert end["source"] == "llm" and end["text"] == "She is, friend; honest as bread.", end
    await comm.disconnect()


def test_person_asked():
    from gameplay.answers_people import person_asked
    from gameplay.world import world_current

    world = world_current()
    gareth = world.npcs["gareth"]
    asked = {line: getattr(person_asked(world, line, speaker=gareth), "slug", None) for line in [
        "Is Wren trustworthy?", "What do you make of the bard?", "Is Captain Varr honest?", "Who is Vesna?",
        "What's Wren's job?", "Tell me about Amos.", "Is it true Wren stole the tankard?", "What's the stew like?",
        "What do you think of Gareth?", "What do you think of the weather?"]}
    assert asked == {"Is Wren trustworthy?": "wren", "What do you make of the bard?": "tobias", "Is Captain Varr honest?": "varr",
                     "Who is Vesna?": "vesna", "What's Wren's job?": "wren", "Tell me about Amos.": "amos",
                     "Is it true Wren stole the tankard?": None,  # a claim: the premise checks answer it
                     "What's the stew like?": None, "What do you think of Gareth?": None, "What do you think of the weather?": None}


def test_patron_asked__by_the_name_they_go_by_figures_and_all():
    from gameplay.answers_people import patron_asked

    patrons = ("Wayfarer", "Wayfarer 2")
    assert patron_asked("Do you know Wayfarer 2?", patrons) == "Wayfarer 2" and patron_asked("do you know wayfarer?", patrons) == "Wayfarer"
    assert patron_asked("Do you know Bram?", ("Bramble",)) == "" and patron_asked("Do you know the way?", patrons) == ""


def test_in_own_voice():
    from gameplay.answers import in_own_voice
    from gameplay.world import world_current

    npcs = world_current().npcs
    assert in_own_voice("Give the strings to Tobias.", npcs["tobias"]) == "give the strings to me."
    assert in_own_voice("Lash down the cover on Quince's cart in the yard.", npcs["quince"]) == "lash down the cover on my cart in the yard."
    assert in_own_voice("Report what you saw to Captain Varr.", npcs["varr"]) == "report what you saw to me."
    assert in_own_voice("Buy a coil of rope from Pellam Quince.", npcs["quince"]) == "buy a coil of rope from me."
    assert in_own_voice("Buy a twist of rat poison from Magda in the kitchen.", npcs["gareth"]).startswith("buy a twist of rat poison from Magda")


async def test_say__asked_where_someone_is__a_reply_that_does_not_say_is_not_shown(fake_llm, session_cookie):
    """The default model answered Wren's "Where can I find Vesna?" with "There's a place called Vesna,
    not far from the common room.": the game knows where she is by her schedule (out, in the morning)."""
    _, cookie = session_cookie
    fake_llm.script(Reply("There's a place called Vesna, not far from the common room."), Reply("In the kitchen, love."))
    comm = await ready(cookie)
    end = (await say(comm, "Where can I find Vesna?", npc="wren", cid="v1"))[-1]
    assert end["source"] == "fallback" and end["text"] == "Vesna is out just now, back about the third bell of afternoon.", end
    assert "The traveller asks where Vesna Holt is; tell them:" in system_text(fake_llm.chat_requests[0])
    await command(comm, "wait until noon", "w")
    await command(comm, "go to the kitchen", "k")
    end = (await say(comm, "Is Gareth around?", npc="magda", cid="v2"))[-1]
    assert any("asks where Gareth Rusk is; tell them: You'd find Gareth in the Common Room" in system_text(request)
               for request in fake_llm.chat_requests)
    assert end["source"] == "fallback" and end["text"] == "You'd find Gareth in the Common Room just now.", end
    await comm.disconnect()


def test_whereabouts_asked():
    from gameplay.answers_people import whereabouts_asked
    from gameplay.world import world_current

    world = world_current()
    wren = world.npcs["wren"]
    asked = {line: getattr(whereabouts_asked(world, line, speaker=wren), "slug", None) for line in [
        "Where can I find Vesna?", "Where's the Captain?", "Is Tobias around?", "Have you seen Amos today?",
        "Where does Captain Varr usually sit?", "Where is the cellar?", "Is Vesna honest?", "Where's Wren?", "Who is Vesna?"]}
    assert asked == {"Where can I find Vesna?": "vesna", "Where's the Captain?": "varr", "Is Tobias around?": "tobias",
                     "Have you seen Amos today?": "amos", "Where does Captain Varr usually sit?": None,
                     "Where is the cellar?": None, "Is Vesna honest?": None, "Where's Wren?": None, "Who is Vesna?": None}


async def test_say__a_farewell__a_reply_that_bids_nobody_goodnight_is_not_shown(fake_llm, session_cookie):
    """The default model answered "Goodnight, Gareth." with "It's a moon, friend."."""
    _, cookie = session_cookie
    fake_llm.script(Reply("It's a moon, friend."))
    comm = await ready(cookie)
    end = (await say(comm, "Goodnight, Gareth.", cid="f1"))[-1]
    assert end["source"] == "fallback" and end["text"].endswith("come back soon."), end
    assert "The traveller is leaving; bid them goodnight." in system_text(fake_llm.chat_requests[0])
    await comm.disconnect()


def test_farewell_said():
    from gameplay.answers import farewell_said

    assert all(map(farewell_said, ["Goodnight, Gareth.", "bye!", "I'm off to bed.", "I must be going.", "See you tomorrow.",
                                   "ok im off to find my scarf, see ya love", "right, think ill turn in soon",
                                   "thanks love, see you later"]))
    assert not any(map(farewell_said, ["Good evening!", "Is it a good night for cards?", "Where's the byre?", "Take a seat?",
                                       "will you turn in soon?"]))


async def test_say__a_reply_said_many_exchanges_ago__is_not_said_again(fake_llm, session_cookie):
    """The prompt holds only the last few exchanges; the default model said "I'm sorry, dear Tamsin.
    I'll just throw a coin on the table for you to use it." twice, nine exchanges apart."""
    _, cookie = session_cookie
    again = "I'll just throw a coin on the table for you to use it, friend."
    sayings = ("Fair enough, friend.", "The stew is on.", "Mind the third step.", "Rain again, by the look of it.",
               "Wren will see to you.", "The cellar floods in spring.", "Ale's fresh today.", "Busy night, this.",
               "Amos sits by the fire.", "The board has work on it.", "Tobias plays later.", "Keep your coin close.",
               "The Watch came by.", "Magda's in a mood.", "Quince's cart is late.")
    fake_llm.script(Reply(again), *map(Reply, sayings), Reply(again), Reply(again), Reply("The fire's warm tonight, sit by it."))
    comm = await ready(cookie)
    replies = [(await say(comm, f"Tell me a thing, friend, number {n}.", cid=f"t{n}"))[-1]["text"] for n in range(len(sayings) + 2)]
    assert replies[0] == again and again not in replies[-1], replies
    await comm.disconnect()


def test_present_asked():
    from gameplay.answers_people import present_asked

    assert all(map(present_asked, ["Who's that sitting by the fire?", "Who else is in tonight?", "who's here?",
                                   "Is anybody else here?", "Who is that woman at the bar?"]))
    assert not any(map(present_asked, ["Who runs the card den?", "Who is in charge of the Watch?", "Who are you?",
                                       "Who are the regulars here?", "Who took the tankard?", "Is anyone hiring?"]))


async def test_say__asked_what_there_is_to_drink__a_reply_naming_nothing_sold_here_is_not_shown(fake_llm, session_cookie):
    """The game's answer, said in place of the model's, is kept in the reply cache as a model reply
    would be: the next player who asks is answered at once, and the model is not asked again."""
    from tests.websocket import game_with_cookie

    _, cookie = session_cookie
    fake_llm.script(Reply("The common room's a place to eat, friend."), Reply("Ale for three, friend; cider too."))
    comm = await ready(cookie)
    end = (await say(comm, "What do you have to drink and how much?", cid="d1"))[-1]
    said = end["text"]
    assert end["type"] == "npc.end" and end["source"] == "fallback", end
    assert said.endswith("a cup of cider for 3 gold, a mug of ale for 3, a glass of red wine for 5 and a tot of rustgut for 6.")
    assert f"tell them: {said}" in system_text(fake_llm.chat_requests[0])
    await comm.disconnect()
    _, other = await database_sync_to_async(game_with_cookie)("other")
    comm = await ready(other)
    end = (await say(comm, "What do you have to drink and how much?", cid="d2"))[-1]
    assert end["source"] == "cache" and end["text"] == said, end
    assert fake_llm.chat_count == 1
    await comm.disconnect()


async def test_say__asked_for_gossip__a_reply_that_tells_none_of_the_npcs_rumours_is_not_shown(fake_llm, session_cookie):
    _, cookie = session_cookie
    fake_llm.script(Reply("Might be a friend of the tavern, friend of the common room."))
    comm = await ready(cookie)
    end = (await say(comm, "What's the gossip tonight?", npc="wren", cid="g1"))[-1]
    rumour = rumour_in(end["text"])
    assert end["type"] == "npc.end" and end["source"] == "fallback" and rumour != end["text"], end
    assert f"tell them: {rumour}" in system_text(fake_llm.chat_requests[0])
    await comm.disconnect()


async def test_say__gareth_with_no_rumour_of_his_own__tells_the_days_talk_but_not_about_himself(fake_llm, session_cookie):
    """The first day, every rumour is another's: the barkeep has heard them, and tells one that is not about him."""
    _, cookie = session_cookie
    fake_llm.script(Reply("That's the way it is, friend."))
    comm = await ready(cookie)
    end = (await say(comm, "Any news around town?", cid="g1"))[-1]
    rumour = rumour_in(end["text"])
    assert end["source"] == "fallback" and rumour != end["text"], end
    assert f"tell them: {rumour}" in system_text(fake_llm.chat_requests[0])
    assert "Gareth" not in rumour
    await comm.disconnect()


async def test_say__asked_for_work__a_reply_naming_no_job_is_not_shown(fake_llm, session_cookie):
    """The default model answered Gareth's "Is there any work going?" with "No, friend.", though the
    rules give him two jobs: the game names them."""
    _, cookie = session_cookie
    fake_llm.script(Reply("No, friend. The morning is done."))
    comm = await ready(cookie)
    end = (await say(comm, "Evening. Is there any work going?", cid="w1"))[-1]
    said = end["text"]
    assert end["source"] == "fallback" and said.endswith("someone to wait tables, for 10 gold, or to haul casks in the Cellar, for 8."), end
    assert f"tell them: {said}" in system_text(fake_llm.chat_requests[0])
    await comm.disconnect()


def test_work_asked():
    from gameplay.answers import work_asked

    assert all(map(work_asked, ["any jobs?", "Are you hiring?", "How can I earn some coin?", "Got any work for me?"]))
    assert not any(map(work_asked, ["Does the chest work?", "What do you do for work?", "What work did you do before the inn?"]))


def test_rumour_words__are_the_rumours_own():
    from gameplay.answers import rumour_words

    words = rumour_words("There's a fox in the tavern yard that bit Tobias on the ankle. The chickens are unharmed.")
    assert words == ("yard", "ankle", "chickens", "unharmed")


async def test_say__asked_its_name_with_the_model_away__the_game_says_it(fake_llm, session_cookie):
    _, cookie = session_cookie
    fake_llm.script(Fail(500), Fail(500), Fail(500))
    comm = await ready(cookie)
    end = (await say(comm, "Who are you?", npc="wren", cid="n1"))[-1]
    assert end["type"] == "npc.end" and end["source"] == "fallback" and "Wren Abney" in end["text"] and "serving maid" in end["text"]
    await comm.disconnect()


async def test_say__a_reply_reciting_what_it_was_told_to_say__the_game_says_it(fake_llm, session_cookie):
    """The small model copies the moment's instruction out ("The traveller asks what you have, ..."):
    the leak guard stops it, and the game's answer, not a greeting, is what the player gets."""
    _, cookie = session_cookie
    fake_llm.script(Reply("The traveller asks what you have; tell them: the stew, the rest of them smile."))  # names a dish: only the leak guard stops it
    comm = await ready(cookie)
    end = (await say(comm, "Anything to eat?", npc="wren", cid="e1"))[-1]
    assert end["source"] == "fallback" and "a plate of cheese and pickle for 3 gold" in end["text"], end
    await comm.disconnect()


async def test_say__asked_for_a_drink_other_than_ale__ale_said_back_answers_nothing(fake_llm, session_cookie):
    """Asked-set replies: "Got anything to drink that isn't ale?" was answered "It's not ale." and "A fine
    mug of ale, friend."."""
    _, cookie = session_cookie
    fake_llm.script(Reply("A fine mug of ale, love."), Reply("Cider, love, three gold."))  # both asked-set replies
    comm = await ready(cookie)
    end = (await say(comm, "Got anything to drink that isn't ale?", npc="wren", cid="d1"))[-1]
    assert end["source"] == "fallback" and "a cup of cider for 3" in end["text"], end
    end = (await say(comm, "And to drink, what's pouring?", cid="d2"))[-1]  # Gareth, asked with no drink named
    assert end["source"] == "llm" and end["text"] == "Cider, love, three gold.", end
    await comm.disconnect()


async def test_say__asked_its_name__a_reply_that_says_it_is_shown_and_shared(fake_llm, session_cookie):
    from tests.websocket import game_with_cookie

    _, cookie = session_cookie
    fake_llm.script(Reply("Gareth Rusk, friend, and this is my tavern."))
    comm = await ready(cookie)
    assert (await say(comm, "What's your name?", cid="n1"))[-1]["source"] == "llm"
    await comm.disconnect()
    _, other = await database_sync_to_async(game_with_cookie)("other")
    comm = await ready(other)
    end = (await say(comm, "What is your name?", cid="n2"))[-1]
    assert end["source"] == "cache" and end["text"] == "Gareth Rusk, friend, and this is my tavern."  # the NPC's name is anyone's
    await comm.disconnect()


async def test_say__the_exchange_is_remembered_before_the_next_line_and_embedded_after(fake_llm, session_cookie):
    """Remembering costs the reply no model pass: `npc.end` goes out as soon as the turn is stored;
    the exchange is in memory before the player's next line is prepared (a line sent at once is
    prompted with it), and its embeddings are computed in the background afterwards."""
    from gameplay.background import aembedding_settled
    from llm import embeddings
    from memory.models import MemoryRecord

    game, cookie = session_cookie
    embeddings.clear_cache()
    fake_llm.script(Reply("The cellar? Down the stairs behind the bar, mind the third step."), Reply("Aye, that one."))
    comm = await ready(cookie)
    await comm.send_json_to({"type": "say", "id": "m1", "npc": "gareth", "text": "Where might a body find the cellar hereabouts?"})
    frames = await until_final(comm, "m1")
    assert frames[-1]["type"] == "npc.end"
    await comm.send_json_to({"type": "say", "id": "m2", "npc": "gareth", "text": "The third step, you say?"})  # at once
    assert (await until_final(comm, "m2"))[-1]["type"] == "npc.end"
    prompt = "\n".join(m["content"] for m in fake_llm.chat_requests[-1]["messages"])
    assert "Down the stairs behind the bar" in prompt and "find the cellar hereabouts" in prompt
    await aembedding_settled()
    stored = [(r.speaker, len(r.embedding), r.embedding_pending) async for r in MemoryRecord.objects.filter(game_id=game.id).order_by("id")]
    assert stored == [("player", 768, False), ("npc", 768, False)] * 2
    await comm.disconnect()


async def test_say__player_leaving_as_the_reply_ends__the_exchange_is_still_remembered(fake_llm, session_cookie):
    """A closed tab cancels the turn as its last frames go out: the turn's conclusion goes on, and
    the memory of the exchange and the reply cache's record of the serve are made all the same."""
    from gameplay.play import aframe_play
    from gameplay.protocol import frame_parse
    from llm.models import ReplyServe
    from memory.models import MemoryRecord

    game, _ = session_cookie
    fake_llm.script(Reply("Gareth Rusk, at your service."))
    sent: list[dict] = []

    async def send(frame: dict) -> None:
        sent.append(frame)
        if frame["type"] == "npc.end":  # the player reads the end and closes the tab
            turn.cancel()
            await asyncio.sleep(0)

    frame = frame_parse('{"type": "say", "id": "s1", "npc": "gareth", "text": "Tell me about yourself"}', None)
    turn = asyncio.ensure_future(aframe_play(game_id=str(game.id), frame=frame, send=send, lock=asyncio.Lock(), speaking=set()))
    with pytest.raises(asyncio.CancelledError):
        await turn

    assert [f["type"] for f in sent][-2:] == ["npc.end", "state"]  # the turn's conclusion went on to its end
    assert await Turn.objects.filter(game=game, client_id="s1").acount() == 1
    remembered = [t async for t in MemoryRecord.objects.filter(game_id=game.id, npc_slug="gareth").values_list("text", flat=True)]
    assert "Tell me about yourself" in remembered and "Gareth Rusk, at your service." in remembered
    assert await ReplyServe.objects.filter(game_id=game.id, client_id="s1").acount() == 1


async def test_say__an_npc_may_say_back_what_it_remembers_word_for_word(fake_llm, session_cookie, settings):
    """Memories sit in the system prompt, but they are the player's own words (or the room's): the
    leak guard protects the instructions and the character sheet, not what the NPC remembers."""
    settings.TANKARD_TURNS_PER_MINUTE = 1000
    told = "my sister Mira went north with the salt traders before the winter floods came"
    memory_lines: list[str] = []

    def respond(body: dict) -> Reply:
        system = system_text(body)
        remembered = [line[2:] for line in system.splitlines() if line.startswith("- ") and "Mira" in line]
        asked = "recall" in body["messages"][-1]["content"]
        if asked:
            memory_lines.extend(remembered)
        return Reply(f"Aye, friend, I recall: {told}." if asked else f"Noted, friend, {len(body['messages'])} times over.")

    fake_llm.default = respond
    _, cookie = session_cookie
    comm = await ready(cookie)
    await say(comm, f"Listen, {told}.", cid="tell")
    for i, topic in enumerate("ale weather fire stew roof river cellar bard cards toll".split()):
        await say(comm, f"What about the {topic}?", cid=f"small{i}")  # the telling leaves the recent turns
    frames = await say(comm, "Do you recall what I told you about my sister?", cid="ask")

    last = fake_llm.chat_requests[-1]["messages"]
    assert told in last[-2]["content"] and last[-2]["role"] == "system", "recalled: in the moment before the line"
    assert all(told not in m["content"] for m in last if m is not last[-2]), "recalled, not recent"
    assert memory_lines
    assert frames[-1]["source"] == "llm" and told in frames[-1]["text"], frames[-1]
    await comm.disconnect()


@pytest.mark.parametrize(("line", "kind"), [
    ("What do you have to drink and how much?", "drink"), ("Where can I get a drink?", "drink"),
    ("what's on tap", "drink"), ("whats on the menu and what does it cost, im starving", "food"),
    ("any food?", "food"), ("What's good to eat here?", "food"),
    ("Do you drink?", None), ("Is the ale good?", None), ("I'm hungry.", None), ("Food and drinks?", None),
    ("Would you like a drink?", None), ("Can I buy you a drink?", None), ("Fancy a drink?", None),  # offers to the NPC
])
def test_goods_asked(line, kind):
    from gameplay.answers import goods_asked

    assert goods_asked(line) == kind


def test_rumour_told__the_one_about_what_is_asked__and_never_twice():
    from types import SimpleNamespace

    from gameplay.answers import rumour_told

    fox = "There's a fox in the tavern yard that bit Tobias on the ankle."
    goat = "The miller's daughter ran off with a tinker and a goat."
    plan = SimpleNamespace(line="whats the gossip on tobias", seed="s", situation=SimpleNamespace(rumours=(goat, fox)))
    assert rumour_told(plan) == fox
    assert rumour_told(plan, said=(f"Between us: {fox}",)) == goat
    assert rumour_told(plan, said=(fox, goat)) == ""  # all told: the model answers as it will
    assert rumour_told(SimpleNamespace(line="Where's the cellar?", seed="s", situation=plan.situation)) == ""


@pytest.mark.parametrize(("line", "said"), [
    ("how much for an ale?", "A mug of ale is 3 gold."),
    ("how much is a glass of wine", "A glass of red wine is 5 gold."),
    ("What does the stew cost, and a pie?", "A bowl of mutton stew is 5 gold, and a beef and ale pie 4."),
    ("What do you have to drink and how much?", ""),  # no item named: what there is to drink, with prices
    ("Is the ale good?", ""),  # no price asked
])
def test_prices_asked(world, line, said):
    from gameplay.answers import prices_asked, prices_said

    assert prices_said(prices_asked(world, line)) == said


async def test_say__asked_a_price__a_reply_that_does_not_say_it_is_not_shown(fake_llm, session_cookie):
    _, cookie = session_cookie
    fake_llm.script(Reply("That is a glass of wine."), Reply("Five gold a glass, friend."))
    comm = await ready(cookie)
    end = (await say(comm, "how much is a glass of wine", cid="p1"))[-1]
    assert end["source"] == "fallback" and end["text"] == "A glass of red wine is 5 gold.", end
    end = (await say(comm, "and what's the price of the wine again?", cid="p2"))[-1]
    assert end["source"] == "llm" and end["text"] == "Five gold a glass, friend."
    await comm.disconnect()


async def test_say__asked_what_is_good__a_reply_that_names_nothing_sold_is_not_shown(fake_llm, session_cookie):
    """Gareth answered "evening. what's good here?" with "Hail, dear friend! Hope you're well.": the
    game says what the world marks as recommended, in his voice."""
    _, cookie = session_cookie
    fake_llm.script(Reply("Hail, dear friend! Hope you're well."), Reply("The stew, friend. Magda's best."))
    comm = await ready(cookie)
    end = (await say(comm, "evening. what's good here?", cid="r1"))[-1]
    assert end["source"] == "fallback" and end["text"].startswith("Try the bowl of mutton stew, 5 gold: Magda's famous"), end
    assert "And the mug of ale, 3 gold: a foaming mug" in end["text"]
    end = (await say(comm, "what would you recommend to eat?", cid="r2"))[-1]
    assert end["source"] == "llm" and end["text"] == "The stew, friend. Magda's best."
    fake_llm.script(Reply("The stew is the best in Brackwater, and I am Magda's mum."))
    end = (await say(comm, "what's in the stew?", cid="r3"))[-1]  # a name of the description is not enough
    assert end["source"] == "fallback" and end["text"].startswith("Magda's famous mutton and barley stew"), end
    await comm.disconnect()


async def test_say__asked_what_is_cooking__a_dish_the_house_sells_elsewhere_answers_it(fake_llm, session_cookie):
    """Magda in the kitchen may speak of the stew sold at the bar: any of the house's dishes answers."""
    _, cookie = session_cookie
    fake_llm.script(Reply("Stew's on, pie's in the oven, and you're in my way. Sit."))
    comm = await ready(cookie)
    await command(comm, "go to the kitchen", "k")
    end = (await say(comm, "what's cooking?", npc="magda", cid="m1"))[-1]
    assert end["source"] == "llm" and end["text"] == "Stew's on, pie's in the oven, and you're in my way. Sit.", end
    await comm.disconnect()


async def test_say__a_line_that_hangs_on_the_one_before__keeps_its_facts_in_the_moment(fake_llm, session_cookie):
    """"Who do you think took it?" after a question about the empty hook: the tankard's canon fact,
    which the first line's words brought, is in the second prompt too; a line that stands alone
    brings only its own."""
    _, cookie = session_cookie
    fake_llm.script(Reply("Three nights gone, friend, and no sign of it."), Reply("I'd not say, friend."),
                    Reply("Mutton, friend."))
    comm = await ready(cookie)
    await say(comm, "What happened to the hook above the bar?", cid="h1")
    await say(comm, "Who do you think took it?", cid="h2")
    await say(comm, "What's cooking tonight?", cid="h3")
    first, hanging, alone = (system_text(r) for r in fake_llm.chat_requests[-3:])
    fact = "The rusted tankard vanished from its hook over the bar three nights ago"
    assert fact in first and fact in hanging and fact not in alone
    await comm.disconnect()


async def test_say__the_dealer_asked_how_to_play__a_reply_naming_no_game_nor_stake_is_not_shown(fake_llm, session_cookie):
    """Vesna answered "How do I play?" with "There's no need to explain. This is my home.": the game
    says the games and the stakes the rules have."""
    _, cookie = session_cookie
    fake_llm.script(Reply("There's no need to explain. This is my home."), Reply("Dice, love. One gold buys you in."))
    comm = await ready(cookie)
    for n, text in enumerate(["wait 12", "wait 12", "wait 9", "go to the gambling den"]):  # Ironday, from the fifth bell of afternoon
        await command(comm, text, f"c{n}")
    end = (await say(comm, "Evening. How do I play?", npc="vesna", cid="g1"))[-1]
    assert end["source"] == "fallback" and end["text"].startswith("Dice, the coin or high card, from 1 gold to 20 a game"), end
    end = (await say(comm, "What are the stakes here?", npc="vesna", cid="g2"))[-1]
    assert end["source"] == "llm" and end["text"] == "Dice, love. One gold buys you in.", end
    await comm.disconnect()


def test_games_asked():
    from gameplay.answers import games_asked

    assert all(map(games_asked, ["How do I play?", "What are the stakes?", "what games do you have", "How much can I bet?",
                                 "what are the house rules"]))
    assert not any(map(games_asked, ["Do you play the lute?", "How do I get to the cellar?", "What's the stake in the yard for?"]))
