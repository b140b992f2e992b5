"""The reply cache's durable records: cached replies, what players ask, replies served, flags.

Plain ids and slugs only: llm knows nothing of the game's or the NPCs' models.
"""
from django.db import models


class ReplyCacheEntry(models.Model):
    """One reusable NPC reply: the database level of the reply cache (it survives restarts)."""

    npc_id = models.BigIntegerField(help_text="The NPC's id: a recreated NPC of the same slug is another NPC.")
    npc_slug = models.SlugField()
    persona_version = models.PositiveIntegerField()
    persona_digest = models.CharField(max_length=16, blank=True, help_text="Hash of the persona text the prompt carried.")
    context = models.CharField(max_length=40, help_text="Hash of the mood, tier, time of day and facts the reply drew on.")
    question = models.CharField(max_length=80, help_text='"q:<canonical question>" or "t:<hash of the words>".')
    text = models.TextField(help_text="The reply, with {slots} for the player's name and time words.")
    source = models.CharField(max_length=10, default="llm", help_text='"llm" (a player\'s reply kept) or "pregen".')
    mood = models.CharField(max_length=20, blank=True)
    tier = models.CharField(max_length=20, blank=True)
    part = models.CharField(max_length=20, blank=True)
    served = models.PositiveIntegerField(default=0, help_text="Times reused from the cache.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_served_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["npc_id", "persona_version", "persona_digest", "context", "question"],
                                    name="one_reply_per_key"),
        ]
        indexes = [models.Index(fields=["npc_id"]), models.Index(fields=["source", "created_at"])]
        verbose_name_plural = "reply cache entries"

    def __str__(self) -> str:
        return f"{self.npc_slug} v{self.persona_version} {self.question} [{self.context[:8]}]"


class ReplyDemand(models.Model):
    """How often players ask an NPC a question in one context: what pre-generation works from.

    Kept across persona edits (no persona version here), so popular replies are made again.
    """

    npc_slug = models.SlugField()
    question = models.CharField(max_length=80)
    context = models.CharField(max_length=40)
    line = models.CharField(max_length=500, help_text="The words put to the model for this question.")
    situation = models.JSONField(default=dict, help_text="The prompt's situation values, the player's name left out.")
    time_words = models.JSONField(default=dict)
    part = models.CharField(max_length=20, blank=True)
    mood = models.CharField(max_length=20, blank=True)
    tier = models.CharField(max_length=20, blank=True)
    asks = models.PositiveIntegerField(default=0)
    flags = models.PositiveIntegerField(default=0)
    last_asked_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["npc_slug", "question", "context"], name="one_demand_per_key")]
        indexes = [models.Index(fields=["npc_slug", "part"])]

    def __str__(self) -> str:
        return f"{self.npc_slug} {self.question}: {self.asks}"


class ReplyServe(models.Model):
    """One NPC reply a player received on the cache's path, and where it came from."""

    game_id = models.UUIDField()
    client_id = models.CharField(max_length=64, blank=True)
    npc_slug = models.SlugField()
    npc_name = models.CharField(max_length=80, blank=True)
    source = models.CharField(max_length=10)
    entry = models.ForeignKey(ReplyCacheEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="serves")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["game_id", "client_id"]), models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.npc_slug} {self.source} {self.game_id}:{self.client_id}"


class ReplyFlag(models.Model):
    """A player said a reply made no sense; the cached entry behind it, if any, was evicted."""

    game_id = models.UUIDField()
    target = models.CharField(max_length=64, help_text="The client id of the flagged say.")
    npc_slug = models.SlugField(blank=True)
    question = models.CharField(max_length=80, blank=True)
    source = models.CharField(max_length=10, blank=True)
    text = models.TextField(blank=True)
    evicted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["game_id", "target"], name="one_flag_per_reply")]

    def __str__(self) -> str:
        return f"{self.npc_slug} {self.question} flagged"
