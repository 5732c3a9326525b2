"""Alembic migrations of the trainer database (run by :func:`tells.trainer.db.migrate`)."""
