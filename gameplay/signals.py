"""Edits of the world's content (admin, loadworld, shell) reach running games: the shared world is
reloaded by every process, and an edited NPC's persona version moves on (stale cached replies stop
matching). An NPC's state in one game edited in the admin moves that game to a new version, so
that every process reads the NPC states again (they are kept per game version). A pre-generation
run starts from the contexts every new game opens in."""
from django.db import transaction
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save

from npcs.models import CanonFact, Npc, NpcState, NpcTopic, ScheduleSlot
from npcs.pregen import pregen_starting

from .models import Game, Bounty, BountyObjective, Clue, Feature, Item, Job, Location, Mystery, Rumour, WorldConfig
from .world import world_changed

WORLD_MODELS = (Location, Feature, Item, Job, Bounty, BountyObjective, Rumour, Mystery, Clue, WorldConfig, Npc, NpcTopic, ScheduleSlot,
                CanonFact)


def _changed(**kwargs) -> None:
    transaction.on_commit(world_changed)


for model in WORLD_MODELS:
    post_save.connect(_changed, sender=model, dispatch_uid=f"world-save-{model.__name__}")
    post_delete.connect(_changed, sender=model, dispatch_uid=f"world-delete-{model.__name__}")
for through in (Location.exits.through, Item.sold_at.through, CanonFact.npcs.through):
    m2m_changed.connect(_changed, sender=through, dispatch_uid=f"world-m2m-{through.__name__}")


def _npc_state_edited(instance: NpcState, **kwargs) -> None:
    """Saved one by one only outside play (turns save NPC states in bulk, with the game's version)."""
    Game.objects.filter(pk=instance.game_id).update(version=F("version") + 1)


post_save.connect(_npc_state_edited, sender=NpcState, dispatch_uid="npc-state-edited")


def _pregen_starting(**kwargs) -> None:
    """A new server has no players' asks to pre-generate from: the openings every game starts in."""
    from .voice_cache import reply_openings_seed

    reply_openings_seed()


pregen_starting.connect(_pregen_starting, dispatch_uid="pregen-openings")
