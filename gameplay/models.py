"""The world's static content (locations, items, jobs, bounties, rumours, the mystery), the
games played in it (one row of versioned state per game, its snapshots and its turn log) and the
shared taverns where games meet (their patrons, the line waiting for each NPC, what is claimed)."""
import uuid

from django.conf import settings
from django.db import models

from npcs.models import TIER_CHOICES, Npc

ITEM_KINDS = [("drink", "Drink"), ("food", "Food"), ("key", "Key"), ("supply", "Supply"), ("curiosity", "Curiosity")]
OBJECTIVE_KINDS = [("obtain", "Obtain an item"), ("visit", "Visit a place"), ("deliver", "Deliver an item to an NPC"), ("report", "Report to an NPC")]
CLUE_KINDS = [("examine", "Examine a feature"), ("ask", "Ask an NPC")]


class Location(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=80)
    aliases = models.JSONField(default=list, blank=True, help_text="Other names players type: a JSON list of strings.")
    description = models.TextField()
    exits = models.ManyToManyField("self", blank=True, symmetrical=True)
    private = models.BooleanField(default=False, help_text="Only a player who rents a room may enter.")
    is_start = models.BooleanField(default=False)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "slug"]

    def __str__(self) -> str:
        return self.name


class Feature(models.Model):
    location = models.ForeignKey(Location, related_name="features", on_delete=models.CASCADE)
    slug = models.SlugField()
    name = models.CharField(max_length=80)
    aliases = models.JSONField(default=list, blank=True)
    description = models.TextField()

    class Meta:
        ordering = ["location", "slug"]
        constraints = [models.UniqueConstraint(fields=["location", "slug"], name="feature_slug_per_location")]

    def __str__(self) -> str:
        return f"{self.name} ({self.location.slug})"


class Item(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=80)
    aliases = models.JSONField(default=list, blank=True)
    kind = models.CharField(max_length=20, choices=ITEM_KINDS)
    price = models.PositiveIntegerField(default=0)
    sold_at = models.ManyToManyField(Location, blank=True, related_name="items_sold")
    seller = models.ForeignKey(Npc, null=True, blank=True, on_delete=models.SET_NULL, related_name="items_sold")
    description = models.TextField(blank=True)
    consumable = models.BooleanField(default=False)
    effects = models.JSONField(default=dict, blank=True, help_text='e.g. {"tiredness": -5, "hunger": -20}')
    use_text = models.TextField(blank=True)
    recommended = models.BooleanField(
        default=False, help_text="What its seller (or anyone where it is sold) recommends when a player asks what is good here: "
        "mark one of each kind.")

    class Meta:
        ordering = ["kind", "price", "slug"]
        constraints = [models.CheckConstraint(condition=models.Q(price__gte=0), name="item_price_not_negative")]

    def __str__(self) -> str:
        return f"{self.name} ({self.price}g)"


class Job(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=80)
    aliases = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True)
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="jobs")
    giver = models.ForeignKey(Npc, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")
    pay = models.PositiveIntegerField()
    minutes = models.PositiveIntegerField()
    tiredness = models.PositiveIntegerField()
    min_tier = models.CharField(max_length=20, choices=TIER_CHOICES, default="stranger")
    work_text = models.TextField(blank=True)

    class Meta:
        ordering = ["location", "pay"]

    def __str__(self) -> str:
        return f"{self.name} ({self.pay}g)"


class Bounty(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=120)
    description = models.TextField()
    giver = models.ForeignKey(Npc, null=True, blank=True, on_delete=models.SET_NULL, related_name="bounties")
    min_tier = models.CharField(max_length=20, choices=TIER_CHOICES, default="stranger")
    reward_gold = models.PositiveIntegerField(default=0)
    reward_item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.SET_NULL)
    reward_relationship = models.SmallIntegerField(default=0)
    complete_text = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "bounties"

    def __str__(self) -> str:
        return self.title


class BountyObjective(models.Model):
    bounty = models.ForeignKey(Bounty, related_name="objectives", on_delete=models.CASCADE)
    order = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=OBJECTIVE_KINDS)
    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.CASCADE)
    npc = models.ForeignKey(Npc, null=True, blank=True, on_delete=models.CASCADE)
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.CASCADE)
    text = models.CharField(max_length=200)

    class Meta:
        ordering = ["bounty", "order", "id"]

    def __str__(self) -> str:
        return f"{self.bounty.slug} #{self.order}: {self.text}"


class Rumour(models.Model):
    slug = models.SlugField(unique=True)
    text = models.TextField()
    days = models.JSONField(default=list, blank=True, help_text="Day numbers 0-6 on which it circulates; empty: every day.")
    source = models.ForeignKey(Npc, null=True, blank=True, on_delete=models.SET_NULL, related_name="rumours")

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Mystery(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=120)
    intro = models.TextField()
    culprit = models.ForeignKey(Npc, on_delete=models.PROTECT, related_name="+")
    min_clues = models.PositiveSmallIntegerField(default=3)
    reward_gold = models.PositiveIntegerField(default=0)
    solved_text = models.TextField()
    wrong_text = models.TextField()
    not_ready_text = models.TextField()

    class Meta:
        verbose_name_plural = "mysteries"

    def __str__(self) -> str:
        return self.title


class Clue(models.Model):
    mystery = models.ForeignKey(Mystery, related_name="clues", on_delete=models.CASCADE)
    slug = models.SlugField()
    text = models.TextField()
    kind = models.CharField(max_length=20, choices=CLUE_KINDS)
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.CASCADE)
    feature_slug = models.SlugField(blank=True)
    npc = models.ForeignKey(Npc, null=True, blank=True, on_delete=models.CASCADE)
    keywords = models.CharField(max_length=300, blank=True, help_text="Comma-separated, for clues found by asking.")
    min_tier = models.CharField(max_length=20, choices=TIER_CHOICES, default="stranger")
    hours = models.JSONField(default=list, blank=True, help_text="Hours 0-23 when it can be found; empty: any time.")

    class Meta:
        ordering = ["mystery", "id"]
        constraints = [models.UniqueConstraint(fields=["mystery", "slug"], name="clue_slug_per_mystery")]

    def __str__(self) -> str:
        return self.slug


class WorldConfig(models.Model):
    """Where and how a new game starts (a single row)."""

    start_gold = models.PositiveIntegerField(default=20)
    start_day = models.PositiveSmallIntegerField(default=0)
    start_hour = models.PositiveSmallIntegerField(default=8)
    max_bet = models.PositiveIntegerField(default=20)
    min_bet = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return "World settings"


class Game(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session_key = models.CharField(max_length=64, blank=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    state = models.JSONField()
    version = models.PositiveIntegerField(default=0)
    checksum = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Game {self.id} v{self.version}"


class GameSnapshot(models.Model):
    """The last few good states of a game, to restore one whose saved state is corrupted."""

    game = models.ForeignKey(Game, related_name="snapshots", on_delete=models.CASCADE)
    slot = models.PositiveSmallIntegerField(default=0, help_text="version modulo the snapshots kept: each write replaces the oldest")
    version = models.PositiveIntegerField()
    state = models.JSONField()
    checksum = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["game", "version"], name="one_snapshot_per_version"),
            models.UniqueConstraint(fields=["game", "slot"], name="one_snapshot_per_slot"),
        ]


class Turn(models.Model):
    """One answered client message: what the player sent and the final frame they got."""

    game = models.ForeignKey(Game, related_name="turns", on_delete=models.CASCADE)
    version = models.PositiveIntegerField(help_text="The game's version after this turn.")
    client_id = models.CharField(max_length=64, null=True, blank=True)
    kind = models.CharField(max_length=16)
    npc_slug = models.SlugField(blank=True)
    text = models.TextField()
    final = models.JSONField(help_text="The final frame sent for this turn, replayed if the client resends its id.")
    source = models.CharField(max_length=16, blank=True)
    game_minute = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["game", "id"]
        constraints = [
            models.UniqueConstraint(fields=["game", "client_id"], name="one_turn_per_client_id"),
        ]
        indexes = [models.Index(fields=["game", "-id"], name="turn_game_recent")]

    def __str__(self) -> str:
        return f"{self.game_id} #{self.version} {self.kind}: {self.text[:40]}"


class Tavern(models.Model):
    """A shared tavern (`/tavern/<name>/`): the players standing in the same location of it see and
    hear each other, and its NPCs serve them in turn (gameplay/tavern/)."""

    name = models.CharField(max_length=40, unique=True, help_text="Lower case: letters, digits and '-'.")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="Closed by staff: nobody may come in.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Patron(models.Model):
    """A game's place in a shared tavern: the name others know it by, where it stands, how many of
    its sockets are in (present while one is, and was seen lately)."""

    tavern = models.ForeignKey(Tavern, related_name="patrons", on_delete=models.CASCADE)
    game = models.ForeignKey(Game, related_name="patronage", on_delete=models.CASCADE)
    name = models.CharField(max_length=24)
    name_key = models.CharField(max_length=48, help_text="The name case-folded: two patrons never share it.")
    location = models.SlugField(blank=True)
    sockets = models.PositiveIntegerField(default=0)
    seen_at = models.DateTimeField(null=True, blank=True, help_text="Renewed by each open socket now and then.")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tavern", "name_key"]
        constraints = [
            models.UniqueConstraint(fields=["tavern", "game"], name="one_patron_per_game"),
            models.UniqueConstraint(fields=["tavern", "name_key"], name="patron_name_unique_in_tavern"),
        ]
        indexes = [models.Index(fields=["tavern", "location"], name="patron_tavern_location")]

    def __str__(self) -> str:
        return f"{self.name} in {self.tavern_id}"


class NpcWait(models.Model):
    """A line waiting for (or being answered by) an NPC of a shared tavern: served oldest first,
    one at a time per game, so no player starves the rest. A place whose holder stopped renewing
    it lapses at `expires_at`."""

    tavern = models.ForeignKey(Tavern, related_name="waits", on_delete=models.CASCADE)
    npc_slug = models.SlugField()
    game = models.ForeignKey(Game, related_name="+", on_delete=models.CASCADE)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tavern", "npc_slug", "id"]
        constraints = [models.UniqueConstraint(fields=["tavern", "npc_slug", "game"], name="one_wait_per_game_and_npc")]
        indexes = [models.Index(fields=["tavern", "npc_slug", "id"], name="npc_wait_line")]

    def __str__(self) -> str:
        return f"{self.npc_slug} #{self.pk} in {self.tavern_id}"


class TavernClaim(models.Model):
    """Shared world state one player changes for all: a bounty's reward claimed in this tavern.
    The unique key makes the first claim win, whichever process played it."""

    tavern = models.ForeignKey(Tavern, related_name="claims", on_delete=models.CASCADE)
    key = models.CharField(max_length=80, help_text='What was claimed: "bounty:<slug>".')
    game = models.ForeignKey(Game, null=True, blank=True, related_name="+", on_delete=models.SET_NULL)
    name = models.CharField(max_length=24, help_text="The patron who claimed it, as others knew them.")
    claimed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tavern", "claimed_at"]
        constraints = [models.UniqueConstraint(fields=["tavern", "key"], name="one_claim_per_key")]

    def __str__(self) -> str:
        return f"{self.key} by {self.name}"
