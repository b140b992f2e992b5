"""The memory app's configuration."""
from django.apps import AppConfig


class MemoryConfig(AppConfig):
    name = "memory"
    verbose_name = "NPC memory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the tasks the beat schedule names, also where no Celery worker autodiscovers
        # them (the embedded mode's background thread looks them up in the app's registry).
        from . import tasks  # noqa: F401
