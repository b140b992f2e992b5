"""The shared tavern's rules and records below the socket: names, presence, each NPC's line of
waiting players, and shared world state (a bounty's reward claimed once per tavern, atomically)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from gameplay import services
from gameplay.models import NpcWait, Patron, TavernClaim
from gameplay.tavern import selectors
from gameplay.tavern.names import default_names, display_name_clean, tavern_name_clean
from gameplay.tavern.services import (
    NameRefused, TavernBarred, npc_wait_ahead, npc_wait_join, npc_wait_leave, patron_arrive, patron_depart,
    patron_rename, tavern_close, tavern_enter,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("raw, clean", [
    ("the-crossroads", "the-crossroads"), ("Inn42", "inn42"), ("a" * 40, "a" * 40), ("-", "-"),
    ("a" * 41, None), ("", None), ("two words", None), ("crème", None), ("a/b", None), ("a_b", None), ("a.b", None),
])
def test_tavern_name__letters_digits_and_dashes_up_to_forty(raw, clean):
    assert tavern_name_clean(raw) == clean


@pytest.mark.parametrize("raw, name", [
    ("Ann", "Ann"), ("  Bríd   O'Neill-Ash ", "Bríd O'Neill-Ash"), ("Ōkuma 2", "Ōkuma 2"), ("Жанна", "Жанна"),
    ("A", None), ("2Bold", None), ("Ann!", None), ("x" * 25, None), ("Nobody", None), ("Zal\u0336go", None),
])
def test_display_name__what_a_name_may_be(raw, name):
    cleaned, why = display_name_clean(raw)
    assert cleaned == name and (why == "") == (name is not None)


def test_default_names__one_word_then_numbered():
    names = default_names(3)
    assert [next(names) for _ in range(3)] == ["Tinker", "Tinker 2", "Tinker 3"]


def _patrons(world, count: int, tavern_name: str = "the-yard"):
    tavern = tavern_enter(name=tavern_name)
    games = [services.game_create(session_key=f"p{i}") for i in range(count)]
    return tavern, games, [patron_arrive(tavern=tavern, game_id=str(g.id), location="common-room") for g in games]


def test_arrive__newcomers_get_names_of_their_own_and_see_who_is_here(world):
    tavern, _, arrivals = _patrons(world, 12)
    names = [a.name for a in arrivals]
    assert len(set(n.casefold() for n in names)) == 12 and all(a.first for a in arrivals)
    assert set(arrivals[-1].present) == set(names)


def test_presence__a_patron_unseen_past_the_window_is_gone_and_arrives_again(world, settings):
    tavern, games, arrivals = _patrons(world, 2)
    Patron.objects.filter(game=games[0]).update(seen_at=timezone.now() - timedelta(seconds=settings.TANKARD_TAVERN["PRESENCE_SECONDS"] + 1))
    assert selectors.patrons_present(tavern_id=tavern.id) == (arrivals[1].name,)  # its server process died
    again = patron_arrive(tavern=tavern, game_id=str(games[0].id), location="kitchen")
    assert again.first and again.name == arrivals[0].name and again.present == (arrivals[0].name,)
    second_tab = patron_arrive(tavern=tavern, game_id=str(games[0].id), location="kitchen")
    assert not second_tab.first
    assert not patron_depart(tavern_id=tavern.id, game_id=str(games[0].id))  # one tab still open
    assert patron_depart(tavern_id=tavern.id, game_id=str(games[0].id))


def test_rename__taken_names_refused_whatever_their_case(world):
    tavern, games, arrivals = _patrons(world, 2)
    patron_rename(tavern_id=tavern.id, game_id=str(games[0].id), raw="Ann")
    with pytest.raises(NameRefused, match="already answers"):
        patron_rename(tavern_id=tavern.id, game_id=str(games[1].id), raw="ANN")
    with pytest.raises(NameRefused, match="works here"):
        patron_rename(tavern_id=tavern.id, game_id=str(games[1].id), raw="Rusk")
    assert patron_rename(tavern_id=tavern.id, game_id=str(games[0].id), raw="ann").name == "ann"  # one's own, recased


def test_npc_line__first_come_first_served_one_place_per_player_lapsed_places_skipped(world):
    tavern, games, _ = _patrons(world, 3)
    first, second, third = (npc_wait_join(tavern_id=tavern.id, npc_slug="gareth", game_id=str(g.id)) for g in games)
    assert npc_wait_join(tavern_id=tavern.id, npc_slug="gareth", game_id=str(games[0].id)) is None
    assert npc_wait_join(tavern_id=tavern.id, npc_slug="wren", game_id=str(games[0].id)) is not None  # another NPC's line
    assert [npc_wait_ahead(wait_id=w, tavern_id=tavern.id, npc_slug="gareth") for w in (first, second, third)] == [0, 1, 2]
    NpcWait.objects.filter(pk=first).update(expires_at=timezone.now() - timedelta(seconds=1))  # its holder's process died
    assert npc_wait_ahead(wait_id=third, tavern_id=tavern.id, npc_slug="gareth") == 1
    npc_wait_leave(wait_id=second)
    assert npc_wait_ahead(wait_id=third, tavern_id=tavern.id, npc_slug="gareth") == 0


def test_close__no_one_comes_in_and_lines_are_dropped(world):
    tavern, games, _ = _patrons(world, 1)
    npc_wait_join(tavern_id=tavern.id, npc_slug="gareth", game_id=str(games[0].id))
    assert tavern_close(tavern_id=tavern.id) and not tavern_close(tavern_id=tavern.id)
    assert not NpcWait.objects.exists()
    with pytest.raises(TavernBarred):
        tavern_enter(name="the-yard")
    with pytest.raises(TavernBarred):
        patron_arrive(tavern=tavern, game_id=str(games[0].id), location="common-room")


LANDING = ("accept lights on the landing", "buy candle", "go upstairs", "go to the common room")


def _play(game, tavern_id: int, *lines: str) -> list[dict]:
    finals = []
    for i, line in enumerate(lines):
        result = services.turn_command(game_id=str(game.id), client_id=f"{line}-{i}-{tavern_id}", text=line, tavern_id=tavern_id)
        finals.append(result.final)
    return finals


def test_bounty__its_reward_is_claimed_once_in_a_shared_tavern_and_the_notice_comes_down(world):
    tavern, (ann, bob, cid), arrivals = _patrons(world, 3)
    _play(ann, tavern.id, *LANDING)
    _play(bob, tavern.id, *LANDING)
    gold = {g.id: services.game_state_frame(game_id=str(g.id))["player"]["gold"] for g in (ann, bob)}
    done = _play(ann, tavern.id, "report to wren")[-1]
    assert "Complete!" in done["text"]
    late = _play(bob, tavern.id, "report to wren")[-1]
    assert f"Too late: {arrivals[0].name} has already claimed the reward" in late["text"]
    after = {g.id: services.game_state_frame(game_id=str(g.id))["player"]["gold"] for g in (ann, bob)}
    assert after[ann.id] == gold[ann.id] + 5 and after[bob.id] == gold[bob.id]  # one purse each: Bob's untouched
    assert services.game_state_frame(game_id=str(bob.id))["bounties"] == []
    board = _play(cid, tavern.id, "board")[-1]
    assert "Lights on the Landing" not in board["text"]
    refused = _play(cid, tavern.id, "accept lights on the landing")[-1]
    assert refused["type"] == "error" and "already claimed" in refused["text"]
    elsewhere = _play(cid, None, "accept lights on the landing")[-1]  # a private tavern has its own notice board
    assert elsewhere["type"] == "narration"
    assert TavernClaim.objects.get(tavern_id=tavern.id).key == "bounty:lights-on-the-landing"


def test_bounty__two_claims_at_once__the_second_turn_is_played_again_and_sees_it_claimed(world, monkeypatch):
    """What a turn on another process sees when both complete the bounty in the same moment: the
    claims it read are already stale when it commits, and the unique claim sends it round again."""
    tavern, (ann, bob), _ = _patrons(world, 2)
    _play(ann, tavern.id, *LANDING)
    _play(bob, tavern.id, *LANDING)
    _play(ann, tavern.id, "report to wren")
    reads = []
    real = selectors.tavern_claims

    def stale_first(*, tavern_id):
        reads.append(tavern_id)
        return {} if len(reads) == 1 else real(tavern_id=tavern_id)

    monkeypatch.setattr(selectors, "tavern_claims", stale_first)
    late = _play(bob, tavern.id, "report to wren")[-1]
    assert len(reads) == 2 and "Too late" in late["text"]
    assert TavernClaim.objects.filter(tavern_id=tavern.id).count() == 1


@pytest.mark.parametrize("command, npc, words", [
    ("whisper gareth the mill burned", "gareth", "the mill burned"),
    ("whisper to Gareth: The Mill Burned", "gareth", "The Mill Burned"),
    ("whisper the mill burned to gareth", "gareth", "the mill burned"),
    ("whisper Wren Abney, not a word of this", "wren", "not a word of this"),
])
def test_whisper_command__a_private_say_to_the_npc_named(game, command, npc, words):
    result = services.turn_command(game_id=str(game.id), client_id="w1", text=command)
    assert result.say is not None and result.say.private
    assert (result.say.npc, result.say.line) == (npc, words)
    assert result.say.memory_owner != str(game.id)  # remembered apart from words said aloud


@pytest.mark.parametrize("command, code", [
    ("whisper", "missing_field"), ("whisper gareth", "missing_field"), ("whisper nobody at all", "unknown_npc"),
])
def test_whisper_command__to_nobody_or_of_nothing__an_in_world_refusal(game, command, code):
    final = services.turn_command(game_id=str(game.id), client_id="w1", text=command).final
    assert final["type"] == "error" and final["code"] == code and final["text"]
