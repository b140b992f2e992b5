from django.apps import AppConfig


class NpcsConfig(AppConfig):
    name = "npcs"
    default_auto_field = "django.db.models.BigAutoField"
