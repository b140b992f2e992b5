"""What the persona module reads off a player's line and an NPC's name (npcs/persona.py)."""
import pytest

from npcs.persona import name_said, name_words, own_name_asked


@pytest.mark.parametrize("line", [
    "Hello there! What's your name?", "Who are you?", "who r u", "What are you called?",
    "What should I call you?", "And your name, friend?", "Introduce yourself.", "and u are?? whats ur name",
])
def test_own_name_asked(line):
    assert own_name_asked(line)


@pytest.mark.parametrize("line", [
    "Who are you waiting for?", "My name is Corwin.", "Do you know my name?", "What's my name?",
    "Who are the regulars?", "Tell me about yourself", "Who are you to tell me that?",
])
def test_own_name_not_asked(line):
    assert not own_name_asked(line)


def test_name_words__titles_are_no_name(world):
    varr = world.npcs["varr"] if "varr" in world.npcs else next(n for n in world.npcs.values() if "Varr" in n.name)
    assert name_words(varr) == ("Isolde", "Varr")
    assert name_said("Varr. Captain of the Watch.", varr) and not name_said("The Captain, to you.", varr)
