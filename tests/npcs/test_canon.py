"""Canon facts (npcs/canon.py): which facts a prompt carries for a line (keyword, meaning, always;
scoped to NPCs; highest priority first within their budget share), what the check calls a
contradiction, `manage.py loadcanon` (idempotent, all or nothing, errors naming the entry), and
an editor's save evicting the cached replies a fact contradicts."""
from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from gameplay.voice_prompt import prompt_inspect
from gameplay.world import world_changed, world_current
from llm.models import ReplyCacheEntry
from llm.prompts import PromptBudget, Situation, build_npc_messages
from llm.prompts import Persona
from npcs.canon import CanonDef, canon_contradicted, canon_pick
from npcs.models import CanonFact, Npc
from npcs.services import canon_facts_load

WIFE = CanonDef(key="wife", text="Gareth's late wife was Orlaith.", keywords=("wife", "married"),
                npcs=frozenset({"gareth"}), subject="wife", value="Orlaith", priority=5)
EEL = CanonDef(key="eel", text="Magda never cooks eel.", keywords=("eel",), never=("Magda cooks eel",), priority=4)
DOOR = CanonDef(key="door", text="The cellar door is bricked up.", keywords=("cellar door",), always=True,
                holds=("the cellar door is bricked up",), never=("the cellar door is open",))
ROOM = CanonDef(key="room", text="A room costs 8 gold a night.", keywords=("room",), subject="room", value="8 gold", priority=1)
GARETH, MAGDA = frozenset({"gareth", "rusk"}), frozenset({"magda", "crumb"})


# --- picking ---------------------------------------------------------------------------------------
def test_pick__a_keyword_in_the_line_brings_the_fact_and_says_why():
    picks = canon_pick([WIFE, EEL], npc_slug="gareth", line="Were you ever married, Gareth?")
    assert [(p.fact.key, p.why) for p in picks] == [("wife", "keyword: married")]


def test_pick__a_line_about_something_else_brings_no_triggered_fact():
    assert canon_pick([WIFE, EEL, ROOM], npc_slug="gareth", line="Any work going?") == ()


def test_pick__a_fact_scoped_to_one_npc_never_reaches_another():
    assert canon_pick([WIFE], npc_slug="tobias", line="Is Gareth's wife about?") == ()
    assert [p.fact.key for p in canon_pick([WIFE], npc_slug="gareth", line="Is your wife about?")] == ["wife"]


def test_pick__always_on_facts_come_whatever_the_line_highest_priority_first():
    picks = canon_pick([DOOR, ROOM, EEL], npc_slug="magda", line="Got a room, and any eel?")
    assert [(p.fact.key, p.why) for p in picks] == [("eel", "keyword: eel"), ("room", "keyword: room"), ("door", "always")]


def test_pick__meaning_match_only_for_facts_that_ask_for_it():
    tankard = CanonDef(key="tankard", text="The rusted tankard vanished from its hook.", meaning=True)
    scores = lambda line, texts: [0.9 for _ in texts]  # noqa: E731
    assert [p.why for p in canon_pick([tankard], npc_slug="amos", line="What went missing?", meaning=scores)] == ["meaning: 0.90"]
    assert canon_pick([tankard], npc_slug="amos", line="What went missing?", meaning=lambda l, t: [0.1]) == ()
    assert canon_pick([ROOM], npc_slug="amos", line="Somewhere to sleep?", meaning=scores) == ()


# --- the check -------------------------------------------------------------------------------------
@pytest.mark.parametrize("sentence, fact, speaker", [
    ("My wife Mary was a fine woman.", WIFE, GARETH),
    ("Aye, Mary was my wife.", WIFE, GARETH),
    ("Gareth's wife was called Mary.", WIFE, frozenset({"wren", "abney"})),
    ("I cook eel every Freyday.", EEL, MAGDA),
    ("Magda cooked eels for the guild supper.", EEL, GARETH),
    ("The cellar door is open now, aye.", DOOR, GARETH),
    ("No, the door to the cellar is open.", DOOR, GARETH),
    ("The cellar door is not bricked up at all.", DOOR, GARETH),
    ("A room is 5 gold a night.", ROOM, GARETH),
    ("Two rooms left at five gold each.", ROOM, GARETH),
])
def test_check__contradictions_are_caught(sentence, fact, speaker):
    assert canon_contradicted(sentence, [fact], speaker_words=speaker) == fact


@pytest.mark.parametrize("sentence, fact, speaker", [
    ("My wife was Orlaith, gods rest her.", WIFE, GARETH),
    ("Orlaith, my wife, was the best of us.", WIFE, GARETH),
    ("Mary? No, my wife was Orlaith.", WIFE, GARETH),
    ("She was my wife, and I miss her.", WIFE, GARETH),
    ("Your wife Mary, you say?", WIFE, GARETH),
    ("Magda never cooks eel.", EEL, GARETH),
    ("No eel in my kitchen; I cook mutton.", EEL, MAGDA),
    ("The cellar door isn't open, it's bricked up.", DOOR, GARETH),
    ("A room is eight gold a night.", ROOM, GARETH),
    ("Two rooms left, 8 gold each.", ROOM, GARETH),
])
def test_check__agreeing_or_unrelated_sentences_pass(sentence, fact, speaker):
    assert canon_contradicted(sentence, [fact], speaker_words=speaker) is None


# --- the prompt ------------------------------------------------------------------------------------
def test_prompt__facts_have_their_own_share_and_the_lowest_go_first():
    budget = PromptBudget.from_context_window(2048, 60)
    persona = Persona(name="Gareth", role="barkeep", personality="Gruff.", speech_style="Short.")
    facts = tuple(f"Pinned fact number {i}: " + "the river is cold and deep " * 8 for i in range(12))
    result = build_npc_messages(persona=persona, situation=Situation(time_label="noon", place="the bar", canon=facts),
                                recent=[], memories=[], player_line="Hello", budget=budget)
    system = result.system_text
    kept = [f for f in facts if f.strip() in system]
    assert kept == list(facts[: len(kept)]) and 0 < len(kept) < len(facts)
    assert 0 < result.tokens["canon"] <= budget.canon and f"canon:{len(facts) - 1}" in result.dropped


@pytest.mark.django_db
def test_prompt__the_shipped_facts_reach_gareths_prompt_when_triggered_and_not_otherwise(game):
    from gameplay import services

    def prompt(npc: str, line: str) -> tuple[list, list]:
        plan = services.say_plan_inspect(game_id=str(game.id), npc=npc, text=line)
        inspected = prompt_inspect(plan, world_current().npcs[npc], mark_used=False)
        return list(inspected.prompt.messages), [(p.fact.key, p.why) for p in inspected.canon]

    messages, why = prompt("gareth", "Were you ever married?")
    assert "Orlaith" in messages[-4]["content"] and messages[-4]["role"] == "system" and ("gareth-late-wife", "keyword: married") in why
    assert messages[-3:] == [{"role": "user", "content": "Were you ever married?"},
                             {"role": "assistant", "content": messages[-2]["content"]},
                             {"role": "user", "content": "Were you ever married?"}]
    assert "Orlaith" in messages[-2]["content"], "the line is shown answered with the fact before it is asked"
    messages, why = prompt("gareth", "What's good to drink?")
    assert not any("Orlaith" in m["content"] for m in messages) and not any(key == "gareth-late-wife" for key, _ in why)
    messages, _ = prompt("tobias", "Were you ever married?")
    assert not any("Orlaith" in m["content"] for m in messages), "the fact is Gareth's, Wren's, Amos's and Magda's"


# --- loadcanon -------------------------------------------------------------------------------------
def _file(tmp_path, entries) -> str:
    path = tmp_path / "canon.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    return str(path)


FACTS = [
    {"text": "The well in the yard never runs dry.", "keywords": ["well"], "npcs": []},
    {"text": "Wren was born in Brackwater.", "keywords": ["born", "from"], "npcs": ["wren"], "key": "wren-born",
     "never": ["Wren was born in Thornbury"], "priority": 2},
]


@pytest.mark.django_db
def test_loadcanon__loading_twice_changes_nothing(world, tmp_path):
    path = _file(tmp_path, FACTS)
    call_command("loadcanon", path)
    before = list(CanonFact.objects.values_list("key", "text", "priority").order_by("key"))
    call_command("loadcanon", path)
    assert list(CanonFact.objects.values_list("key", "text", "priority").order_by("key")) == before
    assert CanonFact.objects.get(key="wren-born").npcs.get().slug == "wren"
    assert CanonFact.objects.filter(key="the-well-in-the-yard-never-runs-dry").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("bad, index, field", [
    ({"keywords": ["x"], "npcs": []}, 2, "text"),
    ({"text": "Ok.", "keywords": "well", "npcs": []}, 2, "keywords"),
    ({"text": "Ok.", "keywords": [], "npcs": ["nobody"]}, 2, "npcs"),
    ({"text": "Ok.", "keywords": [], "npcs": [], "subject": "wife"}, 2, "value"),
    ({"text": "Ok.", "keywords": [], "npcs": [], "priority": "high"}, 2, "priority"),
    ({"text": "Ok.", "keywords": [], "npcs": [], "key": "wren-born"}, 2, "key"),
])
def test_loadcanon__a_bad_entry_names_itself_and_nothing_is_loaded(world, tmp_path, bad, index, field):
    before = CanonFact.objects.count()
    with pytest.raises(CommandError) as error:
        call_command("loadcanon", _file(tmp_path, [*FACTS, bad]))
    assert f"entry {index}, field '{field}'" in str(error.value) and "nothing was loaded" in str(error.value)
    assert CanonFact.objects.count() == before


@pytest.mark.django_db
def test_loadcanon__a_file_that_is_not_json_or_not_a_list_is_refused(world, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("[{", encoding="utf-8")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("loadcanon", str(path))
    with pytest.raises(CommandError, match="a JSON list"):
        call_command("loadcanon", _file(tmp_path, {"text": "x"}))


@pytest.mark.django_db
def test_shipped_world__carries_the_designers_facts(world):
    keys = {f.key for f in world.canon}
    assert {"cellar-river-door", "gareth-late-wife", "magda-never-eel"} <= keys
    assert next(f for f in world.canon if f.key == "gareth-late-wife").npcs >= {"gareth"}


# --- eviction --------------------------------------------------------------------------------------
def _cached(npc: Npc, text: str, question: str) -> ReplyCacheEntry:
    return ReplyCacheEntry.objects.create(npc_id=npc.id, npc_slug=npc.slug, persona_version=npc.persona_version,
                                          persona_digest="d", context="c", question=question, text=text)


@pytest.mark.django_db(transaction=True)
def test_a_new_fact__evicts_the_cached_replies_it_contradicts_of_the_npcs_it_applies_to(world):
    gareth, tobias = Npc.objects.get(slug="gareth"), Npc.objects.get(slug="tobias")
    wrong = _cached(gareth, "Aye, Wren was born in Thornbury, same as me.", "t:1")
    fine = _cached(gareth, "Wren? Born and raised in Brackwater.", "t:2")
    other = _cached(tobias, "Wren was born in Thornbury, I'd wager.", "t:3")  # the fact is Wren's only

    canon_facts_load(entries=[{"text": "Wren was born in Brackwater.", "keywords": ["born"], "npcs": ["gareth"],
                               "never": ["Wren was born in Thornbury"]}])

    remaining = set(ReplyCacheEntry.objects.values_list("pk", flat=True))
    assert wrong.pk not in remaining and {fine.pk, other.pk} <= remaining


@pytest.mark.django_db(transaction=True)
def test_a_fact_saved_in_the_admin__evicts_and_reaches_the_prompt_at_once(world, client, django_user_model):
    gareth = Npc.objects.get(slug="gareth")
    wrong = _cached(gareth, "Aye, the cellar door is open every night for the draymen.", "t:9")
    fact = CanonFact.objects.get(key="cellar-river-door")
    client.force_login(django_user_model.objects.create_superuser("editor", "editor@example.com", "pw"))
    data = {"key": "cellar-river-door", "text": "The cellar door was bricked up after the flood.", "npcs": [],
            "is_active": "on", "keywords": "cellar door", "priority": "7", "subject": "", "value": "",
            "holds": "the cellar door is bricked up", "never": "the cellar door is open"}

    response = client.post(f"/admin/npcs/canonfact/{fact.pk}/change/", data)

    assert response.status_code == 302, response.content[:2000]
    assert not ReplyCacheEntry.objects.filter(pk=wrong.pk).exists()
    assert next(f for f in world_current().canon if f.key == "cellar-river-door").text == data["text"]


def test_check__names_the_fact_itself_uses_are_no_other_value():
    built = CanonDef(key="built", text="Hennet Rusk built the Rusted Tankard.", subject="built", value="Hennet Rusk")
    assert canon_contradicted("Hennet Rusk, my grandfather, built the Rusted Tankard.", [built]) is None
    assert canon_contradicted("Tobias built the Rusted Tankard, I'd say.", [built]) == built


def test_check__a_reply_saying_a_fact_back_breaks_no_fact():
    tankard = CanonDef(key="tankard", text="The tankard vanished from its hook three nights ago.", never=("the tankard is on its hook",))
    assert canon_contradicted("The tankard vanished from its hook three nights ago, friend.", [tankard]) is None
    assert canon_contradicted("Aye, the tankard's on its hook where it belongs.", [tankard]) == tankard


@pytest.mark.django_db
def test_loadcanon__a_fact_its_own_check_would_hold_back_is_refused(world, tmp_path):
    bad = {"text": "The tankard vanished from its hook.", "keywords": [], "npcs": [], "never": ["the tankard is on its hook"]}
    with pytest.raises(CommandError, match="entry 0, field 'never': the fact's own text breaks"):
        call_command("loadcanon", _file(tmp_path, [bad]))
