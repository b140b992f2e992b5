"""The game as a player has it: headless Chromium on the real page, a live server, a scripted model.

Every assertion reads the DOM (or the page's documented `window.tankard` hook), never the database.
Set TANKARD_SCREENSHOTS=1 to also write docs/screenshots/page-desktop.png and page-phone.png.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.llm.fake_openai import Reply

pytestmark = pytest.mark.browser
try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or fail, under CI=true) saying what is missing
    expect = None

ROOT = Path(__file__).resolve().parents[2]
WORLD = json.loads((ROOT / "gameplay" / "world" / "tavern.json").read_text())
SCREENSHOTS = ROOT / "docs" / "screenshots"

ANSWER_JS = """(n) => {
  const you = document.querySelectorAll('#log .line.you')[n];
  const out = [];
  for (let el = you && you.nextElementSibling; el && !el.classList.contains('you'); el = el.nextElementSibling) {
    out.push({cls: el.className, text: el.textContent});
  }
  return out;
}"""
LAST_SPEECH_JS = """(npc) => {
  const lines = document.querySelectorAll('#log .line.npc[data-npc="' + npc + '"]');
  const line = lines[lines.length - 1];
  if (!line) return null;
  return {text: line.querySelector('.speech').textContent, busy: line.getAttribute('aria-busy') === 'true',
          hidden: line.hidden, source: line.getAttribute('data-source')};
}"""


def world_item(slug: str) -> dict:
    return next(i for i in WORLD["items"] if i["slug"] == slug)


def world_job(slug: str) -> dict:
    return next(j for j in WORLD["jobs"] if j["slug"] == slug)


def wait_until_playing(page) -> None:
    page.wait_for_function("() => window.tankard && window.tankard.connected && !!window.tankard.state")


def gold(page) -> int:
    return int(page.locator("#gold").inner_text())


def type_line(page, text: str) -> None:
    """Type into the command line and press Enter, as a player does."""
    field = page.locator("#command-input")
    field.click()
    field.press_sequentially(text)
    field.press("Enter")


def play(page, text: str) -> list[dict]:
    """Type a line and wait for its final frame; returns the log lines that answered it."""
    n = page.locator("#log .line.you").count()
    type_line(page, text)
    echo = page.locator("#log .line.you").nth(n)
    expect(echo.locator(".said")).to_have_text(text)
    expect(echo).to_have_attribute("data-status", "done")
    return page.evaluate(ANSWER_JS, n)


def narration(answer: list[dict]) -> str:
    """The answer's narration; fails when the game answered with an error instead."""
    kinds = [line["cls"].split() for line in answer if "place" not in line["cls"].split()]  # a move's room heading
    assert kinds and "narration" in kinds[0], f"expected narration, got {answer}"
    return "\n".join(line["text"] for line in answer if "narration" in line["cls"].split())


def save_screenshot(page, name: str) -> None:
    if os.environ.get("TANKARD_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name))


# --- 1. a new player's first ten commands --------------------------------------------------------
def test_new_player__ten_typed_commands_are_answered_and_gold_moves(page):
    ale, dishes = world_item("ale"), world_job("wash-dishes")
    start = gold(page)
    inventory = page.locator("#inventory")

    assert "Common Room" in narration(play(page, "look"))

    assert ale["name"] in narration(play(page, "buy an ale"))
    expect(page.locator("#gold")).to_have_text(str(start - ale["price"]))
    expect(inventory).to_contain_text(ale["name"])

    assert ale["use_text"] in narration(play(page, "drink my ale"))
    expect(inventory).not_to_contain_text(ale["name"])

    assert f"{start - ale['price']} gold" in narration(play(page, "inventory"))

    assert "Kitchen" in narration(play(page, "go to the kitchen"))
    expect(page.locator("#location-name")).to_have_text("The Kitchen")

    assert dishes["name"] in narration(play(page, "jobs"))

    assert dishes["work_text"] in narration(play(page, "work wash dishes"))
    expect(page.locator("#gold")).to_have_text(str(start - ale["price"] + dishes["pay"]))

    assert "Common Room" in narration(play(page, "go to the common room"))
    expect(page.locator("#location-name")).to_have_text("The Common Room")

    board = narration(play(page, "board"))
    assert any(b["title"] in board for b in WORLD["bounties"])

    assert f"Gold: {start - ale['price'] + dishes['pay']}" in narration(play(page, "status"))
    assert page.locator("#log .line.error").count() == 0
    assert page.locator("#log .line.you").count() == 10


def test_order_said_to_gareth__is_sold__and_the_chest_keeps_gold(page):
    """"@gareth An ale, please." is answered by the rules (a narration, gold and goods move), as
    "buy an ale" is; gold put in the rented room's chest leaves the purse shown on the page."""
    ale, key = world_item("ale"), world_item("room-key")
    start = gold(page)
    assert narration(play(page, "@gareth An ale, please.")).startswith(f"You pay {ale['price']} gold")
    expect(page.locator("#gold")).to_have_text(str(start - ale["price"]))
    expect(page.locator("#inventory")).to_contain_text(ale["name"])
    narration(play(page, "rent a room"))
    narration(play(page, "go to my room"))
    assert "5 gold into the chest" in narration(play(page, "put 5 gold in the chest"))
    expect(page.locator("#gold")).to_have_text(str(start - ale["price"] - key["price"] - 5))
    assert page.locator("#log .line.error").count() == 0


# --- 2. talking to Gareth: the reply streams in ---------------------------------------------------
def test_talk__gareth_reply_streams_in_from_the_model(page, model_script, fake_model):
    """Needs the LLM reply path (gameplay/voice.py): the scripted model text must reach the page."""
    # Two sentences: a reply is shown a checked sentence at a time, and at most two (gameplay/reply_checks.py).
    reply = ("Aye, the river road is bad this season, and the tolls are up again at Brackwater bridge. "
             "The ferryman wants double for a cart, so I'd wait a week, friend.")
    model_script.when_player_says("river road", Reply(reply, tokens_per_second=10))

    page.locator('#npc-list button.npc-button[data-npc="gareth"]').click()
    field = page.locator("#command-input")
    expect(field).to_have_value("@gareth ")
    expect(field).to_be_focused()
    page.keyboard.type("what news from the river road?")
    page.keyboard.press("Enter")

    partial: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        seen = page.evaluate(LAST_SPEECH_JS, "gareth")
        if seen and not seen["busy"]:
            break
        if seen and seen["busy"] and seen["text"] and not seen["hidden"] and seen["text"] not in partial:
            partial.append(seen["text"])
        page.wait_for_timeout(150)
    final = page.evaluate(LAST_SPEECH_JS, "gareth")

    assert final and not final["busy"], "the reply never finished"
    assert final["text"] == reply
    assert final["source"] == "llm"
    assert all(reply.startswith(p) for p in partial), partial
    assert [len(p) for p in partial] == sorted(len(p) for p in partial)
    growing = [p for p in partial if len(p) < len(reply)]
    assert len(growing) >= 1, f"the reply did not grow while streaming: {partial}"
    # Every change the page made to the line (recorded by speech_recorder.js) only added words.
    steps = [s["text"] for s in page.evaluate("() => window.__speech") if s["text"]]
    assert steps and all(later.startswith(earlier) for earlier, later in zip(steps, steps[1:])), steps
    assert any("river road" in json.dumps(body) for body in fake_model.chat_requests)


# --- 3. a reload finds the game where it was --------------------------------------------------------
def test_reload__game_and_recent_story_come_back(page, model_script):
    magda_says = "Stew's on, pie's in the oven, and you're in my way. Sit."
    model_script.when_player_says("what's cooking", Reply(magda_says, tokens_per_second=80))
    play(page, "buy an ale")
    play(page, "go to the kitchen")
    play(page, "@magda what's cooking?")
    before = {
        "location": page.locator("#location-name").inner_text(),
        "gold": page.locator("#gold").inner_text(),
        "inventory": page.locator("#inventory").inner_text(),
    }
    game_id = page.evaluate("() => window.tankard.gameId")

    page.reload()
    wait_until_playing(page)

    assert page.evaluate("() => window.tankard.gameId") == game_id
    expect(page.locator("#location-name")).to_have_text(before["location"])
    expect(page.locator("#gold")).to_have_text(before["gold"])
    expect(page.locator("#inventory")).to_have_text(before["inventory"])
    past = page.locator("#log .line.past")
    expect(past.locator(".said")).to_have_text(["buy an ale", "go to the kitchen", "@magda what's cooking?"])
    expect(page.locator("#log .line.narration.past").first).to_contain_text(f"You pay {world_item('ale')['price']} gold")
    magda = page.locator('#log .line.npc.past[data-npc="magda"]')
    expect(magda.locator(".speech")).to_have_text(magda_says)
    expect(magda.locator(".speaker")).to_have_text("Magda Crumb")
    # The old story sits above where the player now stands.
    kinds = page.evaluate("() => [...document.querySelectorAll('#log .line')].map(l => l.className.split(' '))")
    divider = next(i for i, k in enumerate(kinds) if "divider" in k)
    assert divider == max(i for i, k in enumerate(kinds) if "past" in k)
    assert divider < next(i for i, k in enumerate(kinds) if "place" in k)


# --- 4. markup in a reply stays text ----------------------------------------------------------------
MARKUP = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>'


def assert_inert(page) -> None:
    assert page.locator("#log img, #log b, #log script").count() == 0
    assert page.evaluate("() => typeof window.__pwned") == "undefined"


def test_markup__npc_reply_and_player_line_stay_inert(page, model_script):
    model_script.when_player_says("show me your ledger", Reply(MARKUP, tokens_per_second=60))
    play(page, "@gareth show me your ledger")
    expect(page.locator('#log .line.npc[data-npc="gareth"] .speech').last).to_have_text(MARKUP)
    assert_inert(page)

    play(page, "say <b>hi</b>")
    expect(page.locator("#log .line.you .said").last).to_have_text("say <b>hi</b>")
    assert_inert(page)

    page.reload()  # and again when it comes back from the server's history
    wait_until_playing(page)
    expect(page.locator('#log .line.npc.past[data-npc="gareth"] .speech').last).to_have_text(MARKUP)
    expect(page.locator("#log .line.you.past .said").last).to_have_text("say <b>hi</b>")
    assert_inert(page)


# --- 5. a dropped connection: nothing lost, nothing doubled -----------------------------------------
def answers_to(page, text: str) -> list[dict]:
    echoes = page.locator("#log .line.you .said").all_inner_texts()
    assert echoes.count(text) == 1, echoes
    return page.evaluate(ANSWER_JS, echoes.index(text))


def test_connection_drop__line_typed_offline_is_applied_once_after_restart(page, game_server):
    ale = world_item("ale")
    start = gold(page)
    status = page.locator("#connection-status")
    game_server.stop()
    expect(status).not_to_have_attribute("data-state", "connected")

    type_line(page, "buy an ale")
    echo = page.locator("#log .line.you").last
    expect(echo).to_have_attribute("data-status", "pending")
    expect(echo.locator(".badge")).to_be_visible()
    assert page.evaluate("() => window.tankard.pending") == 1

    game_server.start()
    try:  # "Try now" rather than waiting out the back-off (the page may already be back)
        page.locator("#reconnect-button").click(timeout=1500)
    except Exception:
        pass
    expect(status).to_have_attribute("data-state", "connected", timeout=20_000)
    expect(echo).to_have_attribute("data-status", "done")
    expect(page.locator("#gold")).to_have_text(str(start - ale["price"]))
    page.wait_for_timeout(500)  # room for a wrong second answer to show up

    assert [line["cls"] for line in answers_to(page, "buy an ale")][:1] == ["line narration"]
    assert page.locator("#log .line.narration", has_text=f"You pay {ale['price']} gold").count() == 1
    expect(page.locator("#inventory .item")).to_have_text([ale["name"]])
    expect(page.locator("#gold")).to_have_text(str(start - ale["price"]))
    assert page.evaluate("() => window.tankard.pending") == 0


def test_connection_drop__answer_lost_in_transit_is_replayed_not_applied_twice(new_page):
    """The server applied the line but its answer never reached the page: the page resends the same
    id after reconnecting and the server replays the stored answer instead of buying again."""
    page = new_page(go=False)
    sent: list[dict] = []
    received: list[dict] = []
    lose = {"armed": False}

    def route(ws):
        server = ws.connect_to_server()

        def to_server(message):
            sent.append(json.loads(message))
            server.send(message)

        def to_page(message):
            frame = json.loads(message)
            received.append(frame)
            if lose["armed"] and frame.get("type") == "narration" and frame.get("reply_to"):
                lose["armed"] = False
                ws.close(code=1011, reason="lost in transit")
                return
            ws.send(message)

        ws.on_message(to_server)
        server.on_message(to_page)

    page.route_web_socket("**/ws/play/", route)
    page.goto("/")
    wait_until_playing(page)
    ale = world_item("ale")
    start = gold(page)

    lose["armed"] = True
    type_line(page, "buy an ale")
    echo = page.locator("#log .line.you").last
    expect(echo).to_have_attribute("data-status", "done", timeout=15_000)
    expect(page.locator("#gold")).to_have_text(str(start - ale["price"]))
    page.wait_for_timeout(500)

    buys = [f for f in sent if f.get("type") == "command" and f.get("text") == "buy an ale"]
    assert len(buys) == 2 and buys[0]["id"] == buys[1]["id"], buys
    answers = [f for f in received if f.get("reply_to") == buys[0]["id"]]
    assert [a.get("replayed", False) for a in answers] == [False, True]
    assert page.locator("#log .line.narration", has_text=f"You pay {ale['price']} gold").count() == 1
    expect(page.locator("#inventory .item")).to_have_text([ale["name"]])


# --- 6. keyboard only -------------------------------------------------------------------------------
def test_keyboard__skip_link_history_recall_and_npc_buttons(page):
    field = page.locator("#command-input")
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(field).to_be_focused()

    for text in ("look", "status"):
        n = page.locator("#log .line.you").count()
        page.keyboard.type(text)
        page.keyboard.press("Enter")
        expect(page.locator("#log .line.you").nth(n)).to_have_attribute("data-status", "done")
    expect(field).to_be_focused()
    expect(field).to_have_value("")
    page.keyboard.press("ArrowUp")
    expect(field).to_have_value("status")
    page.keyboard.press("ArrowUp")
    expect(field).to_have_value("look")
    page.keyboard.press("ArrowDown")
    expect(field).to_have_value("status")
    page.keyboard.press("Escape")
    expect(field).to_have_value("")

    gareth = page.locator('#npc-list button.npc-button[data-npc="gareth"]')
    for _ in range(40):
        page.keyboard.press("Tab")
        if gareth.evaluate("b => b === document.activeElement"):
            break
    expect(gareth).to_be_focused()
    page.keyboard.press("Enter")
    expect(field).to_be_focused()
    expect(field).to_have_value("@gareth ")


# --- 7. the page fits: a phone and a desktop, with screenshots on request ---------------------------
@pytest.mark.parametrize(("width", "height", "shot"), [(390, 844, "page-phone.png"), (1280, 900, "page-desktop.png")],
                         ids=["phone", "desktop"])
def test_layout__usable_without_sideways_scrolling(new_page, model_script, width, height, shot):
    model_script.when_player_says("busy tonight", Reply(
        "Busy enough. Half the valley's in for the fair, and every one of them thinks they're owed a seat by the fire.",
        tokens_per_second=80))
    page = new_page(width, height)
    play(page, "board")  # the longest answer in the game
    play(page, "look")
    play(page, "buy an ale")
    play(page, "@gareth busy tonight?")
    expect(page.locator('#log .line.npc[data-npc="gareth"]').last).not_to_have_attribute("aria-busy", "true")

    field = page.locator("#command-input")
    expect(field).to_be_visible()
    expect(field).to_be_in_viewport()
    expect(page.locator("#send-button")).to_be_in_viewport()
    box = field.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= width
    assert box["width"] >= min(200, width / 2), box
    assert page.evaluate("() => document.scrollingElement.scrollWidth") <= width
    expect(page.locator('#npc-list button.npc-button[data-npc="gareth"]')).to_be_visible()
    page.locator("#command-input").fill("")
    page.locator("#command-input").blur()
    save_screenshot(page, shot)


def test_connection_drop__reply_cut_mid_stream_restarts_cleanly(new_page, model_script):
    """The socket drops while Gareth is speaking: the server drops the unfinished turn, the page
    resends the line and the reply streams again into the same line, never doubled or garbled."""
    reply = "Ships? There's been no ship up the Brack since the flood, and there'll be none till the toll comes down."
    model_script.when_player_says("any ships", Reply(reply, tokens_per_second=12))
    page = new_page(go=False)
    cut = {"after_tokens": None, "seen": 0}

    def route(ws):
        server = ws.connect_to_server()

        def to_page(message):
            frame = json.loads(message)
            if frame.get("type") == "npc.token" and cut["after_tokens"] is not None:
                cut["seen"] += 1
                if cut["seen"] == cut["after_tokens"]:
                    cut["after_tokens"] = None
                    ws.close(code=1011, reason="dropped mid-reply")
                    return
            ws.send(message)

        server.on_message(to_page)

    page.route_web_socket("**/ws/play/", route)
    page.goto("/")
    wait_until_playing(page)
    cut["after_tokens"] = 5
    type_line(page, "@gareth any ships this week?")
    echo = page.locator("#log .line.you").last
    expect(echo).to_have_attribute("data-status", "done", timeout=20_000)

    speech = page.locator('#log .line.npc[data-npc="gareth"]')
    expect(speech).to_have_count(1)
    expect(speech.locator(".speech")).to_have_text(reply)
    steps = [s["text"] for s in page.evaluate("() => window.__speech") if s["text"]]
    assert all(reply.startswith(step) for step in steps), steps
