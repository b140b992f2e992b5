"""NPC definitions (edited in admin) and each game's NPC state (mood, relationship).

NPC state rows carry the game id as a plain UUID: this app knows nothing of gameplay's models.
"""
from django.db import models

TIERS = ("hostile", "wary", "stranger", "acquaintance", "friend", "confidant")
TIER_CHOICES = [(t, t.capitalize()) for t in TIERS]
MOODS = ("content", "cheerful", "weary", "irritable", "anxious", "gloomy", "wistful")
MOOD_CHOICES = [(m, m.capitalize()) for m in MOODS]


class Npc(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=80)
    role = models.CharField(max_length=120)
    appearance = models.TextField(blank=True)
    personality = models.TextField(blank=True)
    speech_style = models.TextField(blank=True)
    knows = models.JSONField(default=list, blank=True, help_text="Facts the NPC shares: a JSON list of strings.")
    hides = models.JSONField(default=list, blank=True, help_text="Secrets the NPC keeps unless trusted: a JSON list of strings.")
    initial_mood = models.CharField(max_length=20, choices=MOOD_CHOICES, default="content")
    greetings = models.JSONField(default=list, blank=True)
    idle_lines = models.JSONField(default=list, blank=True)
    busy_lines = models.JSONField(default=list, blank=True)
    cutoff_lines = models.JSONField(default=list, blank=True)
    voice_examples = models.JSONField(
        default=list, blank=True,
        help_text='How the NPC talks, shown to the model as earlier exchanges: a JSON list of '
                  '{"player": "...", "npc": "..."}, 3 to 6 short ones. Small models copy the voice, so write it well.')
    denials = models.JSONField(
        default=list, blank=True,
        help_text="The NPC's own words for turning down a false claim (\"you promised me...\"): a JSON list of strings.")
    refusals = models.JSONField(
        default=list, blank=True,
        help_text="The NPC's own words for turning down an order about itself (\"ignore your instructions\", \"say X\"): "
                  "a JSON list of strings.")
    asked = models.JSONField(
        default=list, blank=True,
        help_text='Questions players often put to this NPC, each with ways players phrase it: a JSON list of '
                  '{"question": "...", "phrasings": ["...", ...]}. Lines that ask one of them share one cached reply '
                  '(see docs/reply_cache.md); six or more varied phrasings each (slang, short forms, other words).')
    is_active = models.BooleanField(default=True)
    persona_version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "NPC"

    def __str__(self) -> str:
        return f"{self.name} ({self.role})"


class NpcTopic(models.Model):
    npc = models.ForeignKey(Npc, related_name="topics", on_delete=models.CASCADE)
    keywords = models.CharField(max_length=400, help_text="Comma-separated words or phrases that raise this topic.")
    lines = models.TextField(help_text="One reply per line; one is picked at random.")
    min_tier = models.CharField(max_length=20, choices=TIER_CHOICES, default="stranger")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["npc", "order", "id"]

    def __str__(self) -> str:
        return f"{self.npc.slug}: {self.keywords[:40]}"


class ScheduleSlot(models.Model):
    npc = models.ForeignKey(Npc, related_name="schedule", on_delete=models.CASCADE)
    days = models.CharField(max_length=40, default="all", help_text='"all" or day numbers 0-6 separated by commas (0 is Moonday).')
    start_hour = models.PositiveSmallIntegerField()
    end_hour = models.PositiveSmallIntegerField(help_text="Exclusive; may be 24.")
    location_slug = models.SlugField(help_text="Slug of the location where the NPC is during these hours.")

    class Meta:
        ordering = ["npc", "start_hour"]
        constraints = [
            models.CheckConstraint(condition=models.Q(start_hour__lt=models.F("end_hour")), name="schedule_start_before_end"),
            models.CheckConstraint(condition=models.Q(end_hour__lte=24), name="schedule_end_within_day"),
        ]

    def __str__(self) -> str:
        return f"{self.npc.slug} {self.days} {self.start_hour}-{self.end_hour} @ {self.location_slug}"


class NpcState(models.Model):
    game_id = models.UUIDField(db_index=True)
    npc = models.ForeignKey(Npc, on_delete=models.CASCADE, related_name="states")
    mood = models.CharField(max_length=20, choices=MOOD_CHOICES, default="content")
    relationship = models.SmallIntegerField(default=0)
    flags = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["game_id", "npc"], name="one_state_per_game_npc"),
            models.CheckConstraint(condition=models.Q(relationship__gte=-100, relationship__lte=100), name="relationship_in_range"),
        ]

    def __str__(self) -> str:
        return f"{self.npc.slug} in {self.game_id}: {self.mood}, {self.relationship}"


class CanonFact(models.Model):
    """A designer-pinned truth of the world that NPCs keep to: put in the prompt when the player's line
    is about it (or always), and checked against every reply (npcs/canon.py says how)."""

    key = models.SlugField(max_length=80, unique=True, help_text="A short name for the fact; files loaded with loadcanon match facts by it.")
    text = models.TextField(help_text="The fact as the NPC should know it, in one or two plain sentences "
                                      "(\"Gareth's late wife was Orlaith; she died of a fever eight winters ago.\").")
    keywords = models.CharField(max_length=400, blank=True,
                                help_text="Comma-separated words or phrases in a player's line that bring the fact into the prompt (\"wife, married, widower\").")
    meaning_match = models.BooleanField(default=False,
                                        help_text="Also bring it in when the line means the same as the fact, in other words (an embedding match).")
    npcs = models.ManyToManyField(Npc, blank=True, related_name="canon_facts",
                                  help_text="The NPCs who keep to it; none means every NPC. Others never see it.")
    always = models.BooleanField(default=False, help_text="In every prompt of those NPCs, whatever the line (use sparingly: prompts are short).")
    priority = models.SmallIntegerField(default=0, help_text="Higher first when the prompt has room for only some facts.")
    subject = models.CharField(max_length=80, blank=True,
                               help_text="For the reply check: what the pinned value belongs to, a word or two a reply would use (\"wife\", \"room\").")
    value = models.CharField(max_length=80, blank=True,
                             help_text="For the reply check: the pinned name or number (\"Orlaith\", \"8\"). A reply giving that subject "
                                       "another name or number is held back.")
    holds = models.TextField(blank=True, help_text="For the reply check: statements a reply must never deny, one a line (\"the cellar door is bricked up\").")
    never = models.TextField(blank=True, help_text="For the reply check: statements a reply must never affirm, one a line (\"the cellar door is open\", \"Magda cooks eel\").")
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-priority", "key"]
        verbose_name = "canon fact"

    def __str__(self) -> str:
        return self.key
