"""Persistence: the typed ORM models, engines, migrations and repositories."""
