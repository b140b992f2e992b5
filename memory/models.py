"""What NPCs remember, per game (a plain UUID: this app knows nothing of gameplay) and NPC slug.

`MemoryRecord` holds everything retrieval can choose from: raw turns and observations (folded away
into summaries once there are too many), pinned facts the player revealed, and the summaries.
`MemoryArchive` keeps folded raw records, zlib-compressed. `MemoryLedger` is one row per game and
NPC: the version that invalidates cached retrieval matrices, the raw count that says when a fold
is due, and the lock and lease that keep folding single.
"""
from django.db import models

TURN = "turn"
OBSERVATION = "observation"
FACT = "fact"
SUMMARY = "summary"
KIND_CHOICES = [(TURN, "Turn"), (OBSERVATION, "Observation"), (FACT, "Fact"), (SUMMARY, "Summary")]
RAW_KINDS = (TURN, OBSERVATION)
SPEAKER_CHOICES = [("", "-"), ("player", "Player"), ("npc", "NPC")]
IMPORTANCE_SOURCES = [("heuristic", "Heuristic"), ("model", "Model")]
WRITERS = [("", "-"), ("model", "Model"), ("extractive", "Extractive")]


class MemoryRecord(models.Model):
    game_id = models.UUIDField(db_index=True)
    npc_slug = models.SlugField(max_length=50)
    kind = models.CharField(max_length=12, choices=KIND_CHOICES)
    speaker = models.CharField(max_length=6, choices=SPEAKER_CHOICES, blank=True, default="")
    key = models.CharField(max_length=80, blank=True, default="", help_text='Facts only: "name", "kin:sister", ...')
    text = models.TextField()
    importance = models.FloatField()
    importance_source = models.CharField(max_length=10, choices=IMPORTANCE_SOURCES, default="heuristic")
    refine_pending = models.BooleanField(default=False, help_text="Waiting for the model to rate its importance.")
    embedding = models.BinaryField(blank=True, help_text="Empty while waiting to be embedded (embedding_pending).")
    embedding_pending = models.BooleanField(
        default=False, help_text="Recorded before its embedding: filled in the background, or at retrieval if sooner.")
    pinned = models.BooleanField(default=False)
    game_minute = models.IntegerField()
    last_used_minute = models.IntegerField()
    folded_count = models.PositiveIntegerField(default=0, help_text="Summaries only: raw records folded into it.")
    written_by = models.CharField(max_length=10, choices=WRITERS, blank=True, default="", help_text="Summaries only.")

    class Meta:
        ordering = ["game_id", "npc_slug", "id"]
        indexes = [
            models.Index(fields=["game_id", "npc_slug", "kind"], name="memory_rec_game_npc_kind"),
            models.Index(fields=["refine_pending"], condition=models.Q(refine_pending=True), name="memory_rec_refine_pending"),
            models.Index(fields=["game_id", "npc_slug"], condition=models.Q(embedding_pending=True), name="memory_rec_embed_pending"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["game_id", "npc_slug", "key"], condition=models.Q(kind=FACT), name="memory_fact_key_per_npc"
            ),
            models.CheckConstraint(
                condition=models.Q(importance__gte=0.0, importance__lte=1.0), name="memory_importance_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.npc_slug} {self.kind}: {self.text[:60]}"


class MemoryArchive(models.Model):
    game_id = models.UUIDField(db_index=True)
    npc_slug = models.SlugField(max_length=50)
    first_minute = models.IntegerField()
    last_minute = models.IntegerField()
    rows = models.PositiveIntegerField(help_text="Raw records inside.")
    data = models.BinaryField(help_text="zlib-compressed JSON list of [kind, speaker, minute, importance, text].")

    class Meta:
        ordering = ["game_id", "npc_slug", "first_minute", "id"]
        indexes = [models.Index(fields=["game_id", "npc_slug"], name="memory_archive_game_npc")]

    def __str__(self) -> str:
        return f"{self.npc_slug}: {self.rows} archived records ({self.first_minute}-{self.last_minute})"


class MemoryLedger(models.Model):
    game_id = models.UUIDField(db_index=True)
    npc_slug = models.SlugField(max_length=50)
    version = models.PositiveBigIntegerField(default=0, help_text="Bumped by every change but an appended record.")
    raw_count = models.PositiveIntegerField(default=0, help_text="Turns and observations not yet folded.")
    fold_claimed_at = models.DateTimeField(null=True, blank=True, help_text="A worker is summarising since then.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["game_id", "npc_slug"], name="memory_ledger_per_npc")]
        indexes = [models.Index(fields=["raw_count"], name="memory_ledger_raw_count")]

    def __str__(self) -> str:
        return f"{self.game_id} {self.npc_slug}: v{self.version}, {self.raw_count} raw"
