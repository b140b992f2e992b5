"""The Celery application: one more interface to the services (see STYLE.md)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tankard_site.settings")

app = Celery("tankard_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
