from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _load_world_after_migrate(sender, using="default", **kwargs) -> None:
    """A fresh database is playable right after `migrate`: load the shipped world once."""
    from .content import world_content_load, world_is_loaded

    if not world_is_loaded():
        world_content_load()


class GameplayConfig(AppConfig):
    name = "gameplay"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (world edits reach running games)

        post_migrate.connect(_load_world_after_migrate, sender=self)
