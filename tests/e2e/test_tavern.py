"""Two players in two real browsers meet in a shared tavern: each sees the other, hears the other's
words to Gareth and his reply as it is spoken, and words to the room and gestures, and never sees
the other's whispers. Every assertion
reads the page. Set TANKARD_SCREENSHOTS=1 to also write docs/screenshots/tavern-shared.png."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.llm.fake_openai import Reply

pytestmark = pytest.mark.browser
try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or fail, under CI=true) saying what is missing
    expect = None

HALL = "/tavern/e2e-meeting-hall/"


def enter(new_page, path: str = HALL):
    page = new_page(go=False)
    page.goto(path)
    page.wait_for_function("() => window.tankard && window.tankard.connected && !!window.tankard.state")
    return page


def say(page, text: str) -> None:
    field = page.locator("#command-input")
    field.click()
    field.press_sequentially(text)
    field.press("Enter")
    expect(page.locator("#log .line.you").last).to_have_attribute("data-status", "done")


def test_two_browsers__see_each_other_hear_words_aloud_and_not_whispers(new_page, model_script):
    model_script.when_player_says("road north", Reply("Flooded past the mill, friend. Take the ford.", tokens_per_second=40))
    model_script.when_player_says("hidden-ledger", Reply("Aye, the hidden-ledger stays between us.", tokens_per_second=40))
    ann, bob = enter(new_page), enter(new_page)
    expect(ann.locator("#shared-tavern")).to_contain_text("e2e-meeting-hall")

    say(ann, "name Ann")
    expect(bob.locator("#player-list")).to_contain_text("Ann")
    expect(ann.locator("#you-are")).to_contain_text("Ann")
    bob_name = bob.evaluate("() => window.tankard.state.tavern.you")
    expect(ann.locator("#player-list")).to_contain_text(bob_name)

    say(ann, "@gareth What of the road north?")
    heard = bob.locator("#log .line.aloud").last
    expect(heard).to_contain_text("Ann")
    expect(heard).to_contain_text("What of the road north?")
    expect(bob.locator("#log .line.npc.overheard").last).to_contain_text("Flooded past the mill, friend. Take the ford.")

    say(ann, "whisper gareth keep the hidden-ledger safe")
    expect(ann.locator("#log .line.npc").last).to_contain_text("the hidden-ledger stays between us")
    say(bob, "look")  # a turn of Bob's own after the whisper was answered: anything overheard is on his page by now
    assert "hidden-ledger" not in bob.locator("#log").inner_text()
    if os.environ.get("TANKARD_SCREENSHOTS"):
        bob.screenshot(path=str(Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "tavern-shared.png"))


def test_words_to_the_room_and_a_gesture__reach_the_other_players_page(new_page):
    """What one says to the room (`say <words>`) and a gesture appear on the other's page, with the
    speaker's tavern name."""
    ann, bob = enter(new_page), enter(new_page)
    bob_name = bob.evaluate("() => window.tankard.state.tavern.you")
    expect(ann.locator("#player-list")).to_contain_text(bob_name)
    say(bob, "say Evening, all!")
    expect(bob.locator("#log .line.narration").last).to_contain_text('You say, "Evening, all!"')
    expect(ann.locator("#log .line.aloud").last).to_have_text(f"{bob_name} says: Evening, all!")
    say(bob, "wave to wren")
    expect(ann.locator("#log .line.aloud").last).to_have_text(f"{bob_name} waves to Wren.")


def test_bad_tavern_name__the_door_barred_page(new_page):
    page = new_page(go=False)
    response = page.goto("/tavern/no%20such%20place/")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("The door is barred")
    expect(page.locator("main")).to_contain_text("letters, digits and dashes")
