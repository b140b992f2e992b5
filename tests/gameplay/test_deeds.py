"""Deeds the tavern will not let happen (violence, theft, fire, wrecking, unasked-for advances),
played through the services as a player would (gameplay/rules/deeds.py): answered by the game in
the world, nothing taken or broken, the one aimed at soured; and lines that only look like deeds
left alone."""
import pytest

from gameplay import services
from npcs.models import NpcState

pytestmark = pytest.mark.django_db


def relationship(player, slug):
    row = NpcState.objects.filter(game_id=player.game_id, npc__slug=slug).first()
    return row.relationship if row else 0


def unchanged(before, after):
    return (after["player"], after["inventory"], after["time"]) == (before["player"], before["inventory"], before["time"])


@pytest.mark.parametrize(("line", "slug"), [
    ("stab gareth", "gareth"),
    ("punch wren in the face", "wren"),
    ("I kick Gareth", "gareth"),
    ("Let me slap the barkeep", "gareth"),
    ("attack the serving maid!", "wren"),
])
def test_violence_at_someone_here__is_stopped_and_sours_them(player, line, slug):
    before = player.state
    final = player.do(line)
    assert final["type"] == "narration", final
    assert "think better of it" in final["text"] or "let it drop" in final["text"]
    assert unchanged(before, player.state)
    assert relationship(player, slug) < 0
    assert next(n for n in player.state["npcs"] if n["slug"] == slug)["mood"] == "irritable"


@pytest.mark.parametrize(("line", "slug", "name"), [
    ("I pick Gareth's pocket", "gareth", "Gareth Rusk"),
    ("try to steal wren's purse", "wren", "Wren Abney"),
    ("pickpocket the barkeep", "gareth", "Gareth Rusk"),
])
def test_theft_from_someone_here__comes_to_nothing_and_sours_them(player, line, slug, name):
    before = player.state
    final = player.do(line)
    assert final["type"] == "narration" and name in final["text"], final
    assert unchanged(before, player.state)
    assert relationship(player, slug) < 0


@pytest.mark.parametrize(("line", "said"), [
    ("pickpocket the cook", "Magda Crumb is not here, and the moment passes."),
    ("attack captain varr", "Captain Isolde Varr is not here, and the moment passes."),
])
def test_a_deed_at_someone_not_here__says_so(player, line, said):
    assert player.do(line)["text"] == said


@pytest.mark.parametrize("line", [
    "set fire to the tavern", "set the curtains on fire", "burn the place down", "steal a bottle from behind the bar",
    "kill everyone", "smash a chair", "kiss wren", "stab myself",
])
def test_other_deeds__are_answered_in_the_world_and_change_nothing(player, line):
    before = player.state
    final = player.do(line)
    assert final["type"] == "narration", final
    assert "nobody quite follows" not in final["text"]
    assert unchanged(before, player.state)


@pytest.mark.parametrize("line", ["hit the hay", "kill the rats in the cellar", "beat the odds at dice tonight",
                                  "burn my tongue on the stew"])
def test_lines_that_only_look_like_deeds__are_left_to_the_narrator(player, line):
    result = services.turn_command(game_id=player.game_id, client_id="x", text=line)
    assert result.narrate is not None or result.final.get("code") == "unknown_command"


def test_a_gesture_is_still_a_gesture(player):
    assert player.do("poke gareth")["text"].startswith("You poke Gareth.")
    assert relationship(player, "gareth") == 0


def test_sour_enough__the_tier_falls_and_the_player_is_told(player):
    texts = [player.do("punch gareth")["text"] for _ in range(3)]
    assert len({text.splitlines()[0] for text in texts}) > 1  # not the same words each time
    assert "(Gareth Rusk is now wary of you.)" in texts[0], texts
    assert next(n for n in player.state["npcs"] if n["slug"] == "gareth")["tier"] in ("wary", "hostile")


@pytest.mark.parametrize(("line", "kind", "slug"), [
    ("stroll up to gareth and then thump him", "violence", "gareth"),  # a later clause, "him" the one named before
    ("quietly nick the barkeep's coin pouch", "theft", "gareth"),  # slang, with what is taken
    ("grab the takings and run", "theft", None),
    ("help myself to a pie without paying", "theft", None),
    ("flip over a table", "wreck", None),
    ("hurl my mug through the window", "wreck", None),
    ("hurl my mug at wren", "violence", "wren"),
    ("pick a fight with the bard", "violence", "tobias"),
    ("pinch wren's bottom", "advance", "wren"),
    ("rob the dealers till", "theft", "vesna"),  # a role, said without its apostrophe
])
def test_deed_read__other_shapes(world, line, kind, slug):
    from types import SimpleNamespace

    from gameplay.rules.deeds import deed_read

    deed = deed_read(SimpleNamespace(world=world), line)
    assert deed is not None and deed.kind == kind and (deed.target.slug if deed.target else None) == slug, deed


@pytest.mark.parametrize("line", ["steal away upstairs", "grab a seat by the fire", "take a swig of ale", "kill an hour by the hearth",
                                  "beat wren at cards", "kick back and relax", "throw a dart at the board"])
def test_deed_read__harmless_look_alikes(world, line):
    from types import SimpleNamespace

    from gameplay.rules.deeds import deed_read

    assert deed_read(SimpleNamespace(world=world), line) is None


def test_hostile__the_seller_will_not_serve_until_amends_are_made(player):
    for _ in range(5):
        player.do("punch gareth")
    assert next(n for n in player.state["npcs"] if n["slug"] == "gareth")["tier"] == "hostile"
    refused = player.do("buy ale")
    assert refused["type"] == "error" and "won't serve you" in refused["text"] and "buy ale for gareth" in refused["text"]
    assert player.do("buy cider for wren")["type"] == "error"  # nor a drink of his for someone else
    gold = player.state["player"]["gold"]
    treated = player.do("buy ale for gareth")
    assert treated["type"] == "narration" and player.state["player"]["gold"] == gold - 3
    assert "(Gareth Rusk is now wary of you.)" in treated["text"]  # mended enough: he serves again
    assert player.do("buy cider")["type"] == "narration"


@pytest.mark.parametrize(("line", "slug"), [
    ("walk over to wren and slap her", "wren"),  # the parser reads a walk to a place called "wren and slap her"
    ("draw my dagger on gareth", "gareth"),  # and this as high card
])
def test_a_deed_the_parser_reads_as_a_command__is_still_stopped(player, line, slug):
    final = player.do(line)
    assert final["type"] == "narration" and relationship(player, slug) < 0, final
    assert player.state["location"]["slug"] == "common-room"
