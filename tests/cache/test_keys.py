"""The context fingerprint and the slots of cached replies. Pure functions: no database."""
from dataclasses import replace

from llm.reply_cache.keys import context_of, situation_from_json, situation_to_json
from llm.reply_cache.slots import slots_fill, slots_make
from llm.prompts import Situation

SITUATION = Situation(time_label="Third bell of morning, Moonday, Spring", place="The Common Room",
                      present=("Wren Abney the serving maid",), prices=("mug of ale: 3 gold",),
                      relationship_tier="stranger", mood="content")


def test_same_situation_at_another_bell_of_the_same_part__same_context():
    later = replace(SITUATION, time_label="Fifth bell of morning, Moonday, Spring")
    assert context_of(SITUATION, part="morning", day=0) == context_of(later, part="morning", day=3)


def test_each_keyed_value_changes_the_context():
    base = context_of(SITUATION, part="morning", day=0)
    assert context_of(SITUATION, part="evening", day=0) != base
    for changed in (replace(SITUATION, mood="gloomy"), replace(SITUATION, relationship_tier="friend"),
                    replace(SITUATION, prices=("mug of ale: 4 gold",)), replace(SITUATION, present=()),
                    replace(SITUATION, place="The Kitchen"), replace(SITUATION, active_bounties=("Rats: report",)),
                    replace(SITUATION, player_name="Bran")):
        assert context_of(changed, part="morning", day=0) != base, changed


def test_todays_rumours_key_the_day_too():
    with_rumours = replace(SITUATION, rumours=("The river's running high.",))
    assert context_of(with_rumours, part="morning", day=0) != context_of(with_rumours, part="morning", day=1)
    assert context_of(SITUATION, part="morning", day=0) == context_of(SITUATION, part="morning", day=1)


def test_situation_survives_storage_without_the_players_name():
    named = replace(SITUATION, player_name="Bran")
    stored = situation_from_json(situation_to_json(named))
    assert stored.player_name == "Traveller" and stored.present == SITUATION.present
    assert context_of(stored, part="morning", day=0) == context_of(named, part="morning", day=0)


TIME = {"bell": "third bell of morning", "bell_short": "third bell", "day_name": "Moonday", "season": "Spring"}


def test_slots__time_words_and_name_are_stored_as_slots_and_filled_for_the_next_player():
    reply = "Third bell of morning on a Moonday, Bran, and already thirsty? Spring does that. By the third bell I'm busy."
    stored = slots_make(reply, values={**TIME, "player": "Bran"})
    assert stored == "{Bell} on a {day_name}, {player}, and already thirsty? {season} does that. By the {bell_short} I'm busy."
    filled = slots_fill(stored, values={"bell": "fifth bell of morning", "bell_short": "fifth bell", "day_name": "Ironday",
                                        "season": "Summer", "player": "Ysolde"})
    assert filled == "Fifth bell of morning on a Ironday, Ysolde, and already thirsty? Summer does that. By the fifth bell I'm busy."


def test_slots__a_common_word_that_names_a_season_is_left_alone():
    assert slots_make("Fresh spring water, Spring's finest.", values=TIME) == "Fresh spring water, {season}'s finest."


def test_slots__stray_braces_in_a_reply_do_not_become_slots():
    assert slots_fill(slots_make("A {strange} reply", values=TIME), values=TIME) == "A (strange) reply"
