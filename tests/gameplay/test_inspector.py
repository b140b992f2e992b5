"""The prompt inspector: the command and the staff pages show the exact messages and the memories'
scores, and the prompt stays within its budget while the NPC remembers the player."""
import pytest
from django.core.management import call_command
from django.urls import reverse

from memory.services import memory_record_exchange

pytestmark = pytest.mark.django_db


def test_show_prompt__prints_messages_and_memory_scores(game, capsys):
    memory_record_exchange(game_id=game.id, npc_slug="gareth", player_line="My name is Rowan and my sister Mira is lost.",
                           npc_reply="I'm sorry to hear it, friend.", game_minute=500)
    call_command("show_prompt", str(game.id), "gareth", "Do you remember my sister?")
    out = capsys.readouterr().out
    assert "--- system ---" in out and "Gareth" in out
    assert "Do you remember my sister?" in out
    assert "Mira" in out and "score" in out and "why:" in out


def test_prompt_inspector_pages__staff_only_and_show_a_real_reply(game, client, django_user_model, fake_llm):
    from tests.conftest import Player

    Player(game.id).say("gareth", "Tell me about yourself")
    assert client.get(reverse("gameplay:staff-prompts")).status_code == 302  # to the admin login
    staff = django_user_model.objects.create_user("ops", password="pw", is_staff=True)
    client.force_login(staff)
    listing = client.get(reverse("gameplay:staff-prompts"))
    assert listing.status_code == 200 and b"Tell me about yourself" in listing.content
    from gameplay.models import Turn

    turn = Turn.objects.filter(kind="say").latest("id")
    detail = client.get(reverse("gameplay:staff-prompt", args=[turn.id]))
    assert detail.status_code == 200 and b"system" in detail.content and b"Gareth" in detail.content


def test_prompt__stays_within_budget_as_memories_pile_up(game, settings):
    from gameplay.inspector import prompt_report_now

    for i in range(60):
        memory_record_exchange(game_id=game.id, npc_slug="gareth", player_line=f"I promise to bring you {i} barrels of cider by spring.",
                               npc_reply="Mind you, I'll hold you to that.", game_minute=500 + i)
    report = prompt_report_now(game_id=str(game.id), npc="gareth", line="What did I promise you?")
    assert report["tokens"]["total"] <= settings.TANKARD_LLM["CONTEXT_WINDOW"] - settings.TANKARD_LLM["MAX_REPLY_TOKENS"]
    assert report["tokens"]["memories"] <= report["budget"]["memories"]
    assert report["memories"]
