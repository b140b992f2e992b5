"""Gestures, "who is here", and the checks on the narrator's sentence, played through the services
as a player would (gameplay/rules/emotes.py, gameplay/narration_checks.py)."""
import pytest

from gameplay.narration_checks import narration_kept
from gameplay.reply_world import check_world
from gameplay.world import world_current

pytestmark = pytest.mark.django_db

REACTED_BY = ("glances your way", "catches your eye and nods", "raises an eyebrow", "pretends not to notice", "smiles at that")


@pytest.mark.parametrize(("line", "said"), [
    ("wave to wren", "You wave to Wren."),
    ("I smile at Gareth", "You smile at Gareth."),
    ("warm my hands by the hearth", "You warm your hands by the hearth."),
    ("stretch", "You stretch."),
    ("sit down!", "You sit down."),
])
def test_gesture__is_said_in_the_second_person_and_changes_nothing(player, line, said):
    before = player.state
    final = player.do(line)
    assert final["type"] == "narration" and final["text"].startswith(said)
    after = player.state
    assert (after["player"], after["inventory"], after["time"]) == (before["player"], before["inventory"], before["time"])


def test_gesture__the_one_it_is_aimed_at_reacts(player):
    text = player.do("wink at wren")["text"]
    reaction = text.removeprefix("You wink at Wren. ")
    assert reaction.startswith("Wren Abney ") and any(r in reaction for r in REACTED_BY)


def test_gesture__at_someone_not_here_says_so(player):
    assert player.do("wave to varr")["text"] == "You wave to Varr, but Captain Isolde Varr is not here to see it."


def test_gesture__different_gestures_draw_different_reactions(player):
    reactions = {player.do(line)["text"].split(". ", 1)[-1] for line in
                 ("nod", "bow", "shrug", "grin", "sigh", "yawn", "clap", "laugh", "cheer", "whistle", "hum", "blink")}
    assert len(reactions) > 2


@pytest.mark.parametrize("line", ["xyzzy plugh", "fly away", "nod " + "very " * 12 + "slowly"])
def test_no_gesture__is_for_the_narrator_or_not_understood(player, line):
    from gameplay import services

    result = services.turn_command(game_id=player.game_id, client_id="n", text=line)
    if len(line.split()) >= services.NARRATABLE_MIN_WORDS:  # the narrator's (its fallback: not understood)
        assert result.narrate is not None and result.narrate.fallback["code"] == "unknown_command"
    else:
        assert result.final["code"] == "unknown_command"


@pytest.mark.parametrize("line", ["who is here", "who's here?", "Who else is here", "anyone here?", "who"])
def test_who_is_here__names_the_people_in_the_room(player, line):
    final = player.do(line)
    assert final["type"] == "narration" and final["text"].startswith("Here: Gareth Rusk the barkeep")
    assert "Wren Abney" in final["text"] and "Varr" not in final["text"]


def test_put_without_a_chest__is_no_storing(player):
    from gameplay import services

    result = services.turn_command(game_id=player.game_id, client_id="p", text="put my feet up on the table")
    assert result.narrate is not None  # free text for the narrator, not the chest's rule
    assert "chest" in player.do("put ale in my chest")["text"]  # still storing (here: no room, so no chest)


PRESENT = ("Gareth Rusk the barkeep and owner", "Wren Abney the serving maid")


def kept(text, line="juggle three apples"):
    return narration_kept(text, line=line, present=PRESENT, world=check_world(world_current()))


@pytest.mark.parametrize(("text", "shown"), [
    ("You juggle three apples, and Wren laughs.", "You juggle three apples, and Wren laughs."),
    ("You juggle three apples. Gareth shakes his head. Then a long tale begins", "You juggle three apples."),
    ("You juggle three apples, ready for whatever the night brings.", "You juggle three apples."),  # the example's ending
])
def test_narration__its_first_sentence_is_shown(world, text, shown):
    assert kept(text) == shown


@pytest.mark.parametrize("text", [
    "I juggle three apples for you.",  # the narrator as someone
    "Juggle three apples, and the floorboards creak.",  # not the player doing it
    "You juggle three apples and Captain Varr applauds.",  # someone who is not here
    "You juggle three apples for Lord Blackwood.",  # someone the world lacks
    "You juggle three apples and win 5 gold.",  # what only the rules change
    "You juggle three apples, and the",  # cut off
    "You juggle three apples, then punch Gareth.",  # a deed the rules would have stopped (gameplay/rules/deeds.py)
    "You juggle three apples and set fire to the curtains.",
    "You sing a ballad about the sea.",  # not what the player did
    "You juggle three apples and film it on your phone.",  # a thing of another age
    'You juggle three apples. "Ha!"',  # quotes in its first sentence? no: only the first sentence counts
])
def test_narration__what_the_checks_hold_back(world, text):
    if text.endswith('"Ha!"'):
        assert kept(text) == "You juggle three apples."
    else:
        assert kept(text) is None


@pytest.mark.parametrize(("text", "plain"), [
    ("You juggle three apples, a game of skill and agility.", "You juggle three apples."),
    ("You juggle three apples, ringing in a new adventure.", "You juggle three apples."),
    ("You juggle three apples, and Wren laughs.", "You juggle three apples, and Wren laughs."),  # someone present reacts
    ("You toss, juggle and catch three apples.", "You toss, juggle and catch three apples."),  # before the comma: not yet the line's verb
])
def test_narration__for_the_small_model__a_tail_that_means_little_is_cut(world, text, plain):
    assert narration_kept(text, line="juggle three apples", present=PRESENT, world=check_world(world_current()), plain=True) == plain
    assert kept(text) == text  # a model behind OPENAI_BASE_URL keeps its own
