"""Alembic migrations of the workspace database (run by :func:`tells.server.db.migrate`)."""
