"""Every app's migrations match its models (the test database itself is built by applying them to an
empty one), so a model change without its migration fails here, not on a server."""
import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_migrations__match_the_models():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)  # SystemExit(1) when one is missing
